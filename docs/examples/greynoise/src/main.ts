import { runConnector } from '@cti/connector-sdk';
import connector from './index.js';

process.exit(await runConnector(connector));
