export { pythonAdapter, createPythonServerAdapter, processMode, threadLimitVariables } from './python-adapter.js';
export type { PythonAdapterSettings, PythonServerMode } from './python-adapter.js';
export { validatePythonAdapterSettings } from './python-adapter-settings.js';
export {
  findPythonInterpreter,
  type InterpreterChoice,
  type InterpreterSearch,
  type InterpreterSource,
  type ProjectRoot,
} from './python-interpreter.js';
export { pythonPackageRoot } from './python-package-path.js';
export { remotePythonAdapter, type RemotePythonAdapterOptions } from './remote/remote-python-adapter.js';
export type { DnsDiscoveryOptions } from './remote/endpoint-discovery.js';
