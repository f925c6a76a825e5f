//! AWS adapters (DynamoDB order store, SQS order queue).
