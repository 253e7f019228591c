import { runConnector } from '@cti/connector-sdk';
import connector from './index.js';

// The SDK resolves with the exit code once the connector has stopped (SIGTERM, a dry run, a fatal error).
process.exit(await runConnector(connector));
