export {
  createGrpcHttp2Transport,
  type GrpcHttp2Transport,
  type GrpcHttp2TransportOptions,
} from './grpc-http2-transport.js';
