export { threadedPythonAdapter, defaultThreadsPerWorker, type ThreadedPythonAdapterSettings } from './threaded-python-adapter.js';
