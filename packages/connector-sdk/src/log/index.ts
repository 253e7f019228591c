export { createLogger, type Logger, type LoggerOptions, silentLogger } from './logger.js';
export {
  clearRegisteredSecrets,
  isSecretHeaderName,
  REDACTED,
  redactDeep,
  redactHeaders,
  redactString,
  redactUrl,
  registerSecret,
} from './redact.js';
