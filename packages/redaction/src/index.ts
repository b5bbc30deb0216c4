export { describe } from './describe.js';
export {
  createRedactor,
  defaultRedactOptions,
  redact,
  type RedactOptions,
  type Redactor,
} from './redact.js';
export {
  createTextScrubber,
  defaultMask,
  scrubText,
  type ScrubTextOptions,
  type TextScrubber,
} from './scrub-text.js';
export {
  createKeyMatcher,
  defaultSensitiveKeys,
  isSensitiveKey,
  type SensitiveKeyOptions,
} from './sensitive-keys.js';
export {
  createPinoRedactOptions,
  createRedactingSerializers,
  levelMethods,
  logLevels,
  redactingSerializers,
  wrapLogger,
  type Logger,
  type LogLevel,
  type LogMethod,
  type PinoRedactOptions,
  type RedactingSerializers,
} from './pino.js';
