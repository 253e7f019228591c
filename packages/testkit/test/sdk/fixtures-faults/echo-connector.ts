/** The fault suites' echo enrichment as a process (SIGKILL tests): DELAY_MS per enrichment. */
import { runConnector } from '@cti/connector-sdk';
import { echoEnrichment } from '../faults/connectors.js';

process.exit(await runConnector(echoEnrichment()));
