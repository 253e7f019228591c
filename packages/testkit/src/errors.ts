/**
 * The testkit's own error: a test asked the stand-in platform for something it cannot do (an unknown
 * connector, an entity type it does not model, a wait that timed out). The message says what to fix.
 */
export class TestPlatformError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestPlatformError';
  }
}
