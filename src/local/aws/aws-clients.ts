/** SDK clients for a local endpoint or real AWS, built once and shared. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DYNAMODB_CLIENT_SETTINGS } from '../../sink/dynamodb-client.js';

export interface AwsTarget {
  /** Override endpoint (local server); undefined means real AWS with the default credential chain. */
  endpoint?: string;
  region?: string;
}

export interface AwsClients {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  dynamodbStreams: DynamoDBStreamsClient;
  sqs: SQSClient;
}

/** Dummy credentials for local servers only; they never leave this machine. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function clientConfig(target: AwsTarget): Record<string, unknown> {
  const region = target.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (!target.endpoint) return { region };
  // The Kinesis client defaults to HTTP/2, which fails against kinesis-local and crashes moto (TOOLCHAIN.md).
  return {
    region,
    endpoint: target.endpoint,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 3,
  };
}

export function createAwsClients(target: AwsTarget): AwsClients {
  const config = clientConfig(target);
  return {
    kinesis: new KinesisClient(config),
    dynamodb: new DynamoDBClient({ ...config, ...DYNAMODB_CLIENT_SETTINGS }),
    dynamodbStreams: new DynamoDBStreamsClient(config),
    sqs: new SQSClient(config),
  };
}
