/** The fault suites' paged feed importer as a process (SIGKILL tests): FEED_URL serves the pages. */
import { runConnector } from '@cti/connector-sdk';
import { feedImport } from '../faults/connectors.js';

process.exit(await runConnector(feedImport));
