export { createLogger, type Logger, type LoggerOptions, silentLogger } from './logger.js';
export {
  clearRegisteredSecrets,
  isSecretHeaderName,
  maskValues,
  REDACTED,
  redactDeep,
  redactHeaders,
  redactString,
  redactUrl,
  registerSecret,
} from './redact.js';
