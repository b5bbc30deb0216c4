export { pythonAdapter, createPythonServerAdapter, processMode, missingGrpcHint, threadLimitVariables } from './python-adapter.js';
export type { PythonAdapterSettings, PythonServerMode } from './python-adapter.js';
export { choosePythonInterpreter, type InterpreterChoice } from './python-interpreter.js';
export { pythonPackageRoot } from './python-package-path.js';
