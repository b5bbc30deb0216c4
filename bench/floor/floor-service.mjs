/**
 * The descriptor of snakepit.bench.v1.Floor (see bench/python/floor_server.py) for connect's
 * client, built at run time so the bench needs no generated code. Every message is a
 * google.protobuf.BytesValue.
 */
import { create, createFileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from '@bufbuild/protobuf/wkt';

export const floorServiceName = 'snakepit.bench.v1.Floor';

const bytesValue = '.google.protobuf.BytesValue';

const file = create(FileDescriptorProtoSchema, {
  name: 'snakepit/bench/v1/floor.proto',
  package: 'snakepit.bench.v1',
  syntax: 'proto3',
  dependency: ['google/protobuf/wrappers.proto'],
  service: [
    {
      name: 'Floor',
      method: [
        { name: 'Echo', inputType: bytesValue, outputType: bytesValue },
        { name: 'Chat', inputType: bytesValue, outputType: bytesValue, clientStreaming: true, serverStreaming: true },
        { name: 'Stream', inputType: bytesValue, outputType: bytesValue, serverStreaming: true },
      ],
    },
  ],
});

export const FloorService = createFileRegistry(file, (name) =>
  name === file_google_protobuf_wrappers.proto.name ? file_google_protobuf_wrappers : undefined,
).getService(floorServiceName);
