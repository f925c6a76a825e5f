//! One naming scheme for everything the dashboards and alarms point at, rendered for a target:
//! on AWS as CloudFormation `Fn::Sub` placeholders (`${CreateOrderFunction}` resolves to the
//! function's physical name), locally as the names the local stack gives the same resources.
//! Keeping both in one function per resource means a dashboard or alarm cannot read a
//! dimension value that one of the two stacks never writes.

use orders::settings::Function;

/// Where the dashboards and alarms will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Rendered into template.yaml: strings hold `${LogicalId}` placeholders for `Fn::Sub`.
    Aws,
    /// The local stack (`workshop up`): its fixed names.
    Local,
}

/// The `Service` dimension of every OrderKit metric: `SERVICE_NAME` in template.yaml's Globals
/// and `telemetry::catalogue::SERVICE_NAME` (a dashboards test reads the template to keep them
/// equal).
pub use telemetry::catalogue::SERVICE_NAME as SERVICE;

/// The HTTP API's only stage (SAM's default for an HttpApi), on AWS and locally.
pub const STAGE: &str = "$default";

/// Logical ids in template.yaml that the placeholders name.
pub mod logical {
    use orders::settings::Function;

    pub const ORDERS_QUEUE: &str = "OrdersQueue";
    pub const DEAD_LETTER_QUEUE: &str = "OrdersDeadLetterQueue";
    pub const TABLE: &str = "OrdersTable";
    pub const API: &str = "OrdersApi";
    /// The SNS topic every alarm notifies.
    pub const ALARM_TOPIC: &str = "AlarmTopic";
    /// The template parameter holding the stage name (the `Environment` dimension).
    pub const ENVIRONMENT_PARAMETER: &str = "Environment";

    /// The `AWS::Serverless::Function` of `f`.
    pub fn function(f: Function) -> &'static str {
        match f {
            Function::CreateOrder => "CreateOrderFunction",
            Function::GetOrder => "GetOrderFunction",
            Function::ListOrders => "ListOrdersFunction",
            Function::Health => "HealthFunction",
            Function::OrderProcessor => "OrderProcessorFunction",
            Function::OrderPublisher => "OrderPublisherFunction",
        }
    }

    /// The `AWS::Logs::LogGroup` that `f` writes to (its LoggingConfig.LogGroup).
    pub fn log_group(f: Function) -> &'static str {
        match f {
            Function::CreateOrder => "CreateOrderLogGroup",
            Function::GetOrder => "GetOrderLogGroup",
            Function::ListOrders => "ListOrdersLogGroup",
            Function::Health => "HealthLogGroup",
            Function::OrderProcessor => "OrderProcessorLogGroup",
            Function::OrderPublisher => "OrderPublisherLogGroup",
        }
    }
}

/// The local stack's names (see functions/store-sqlite's queue and workshop's service metrics).
pub mod local {
    pub use orders::settings::local::{DEAD_LETTER_QUEUE, ORDERS_QUEUE, TABLE};
    pub const API_ID: &str = "local";
    pub const REGION: &str = "local";
    pub const ENVIRONMENT: &str = "local";
    /// A fixed account id for local alarm ARNs (the one moto and LocalStack use).
    pub const ACCOUNT: &str = "000000000000";
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Aws, Target::Local];

    /// `FunctionName` of `f`: the Ref of the function resource, or `settings::Function::name`.
    pub fn function_name(self, f: Function) -> String {
        match self {
            Target::Aws => placeholder(logical::function(f)),
            Target::Local => f.name().to_owned(),
        }
    }

    /// The log group `f` writes to: the Ref of its log group resource (a name).
    pub fn log_group(self, f: Function) -> String {
        match self {
            Target::Aws => placeholder(logical::log_group(f)),
            Target::Local => format!("/aws/lambda/{}", f.name()),
        }
    }

    pub fn queue_name(self) -> String {
        match self {
            Target::Aws => placeholder(&format!("{}.QueueName", logical::ORDERS_QUEUE)),
            Target::Local => local::ORDERS_QUEUE.to_owned(),
        }
    }

    pub fn dead_letter_queue_name(self) -> String {
        match self {
            Target::Aws => placeholder(&format!("{}.QueueName", logical::DEAD_LETTER_QUEUE)),
            Target::Local => local::DEAD_LETTER_QUEUE.to_owned(),
        }
    }

    pub fn table_name(self) -> String {
        match self {
            Target::Aws => placeholder(logical::TABLE),
            Target::Local => local::TABLE.to_owned(),
        }
    }

    /// `ApiId` of the HTTP API (the Ref of an `AWS::Serverless::HttpApi` is its id).
    pub fn api_id(self) -> String {
        match self {
            Target::Aws => placeholder(logical::API),
            Target::Local => local::API_ID.to_owned(),
        }
    }

    pub fn stage(self) -> String {
        STAGE.to_owned()
    }

    pub fn region(self) -> String {
        match self {
            Target::Aws => placeholder("AWS::Region"),
            Target::Local => local::REGION.to_owned(),
        }
    }

    /// The `Environment` dimension value of OrderKit metrics.
    pub fn environment(self) -> String {
        match self {
            Target::Aws => placeholder(logical::ENVIRONMENT_PARAMETER),
            Target::Local => local::ENVIRONMENT.to_owned(),
        }
    }

    pub fn service(self) -> String {
        SERVICE.to_owned()
    }

    /// The physical alarm name for `slug`. On AWS the stack name prefixes it: alarm names are
    /// unique per account and region, and two stacks (dev, staging) may share one.
    pub fn alarm_name(self, slug: &str) -> String {
        match self {
            Target::Aws => format!("${{AWS::StackName}}-{slug}"),
            Target::Local => slug.to_owned(),
        }
    }

    /// The ARN an alarm widget or composite rule uses for `slug`.
    pub fn alarm_arn(self, slug: &str) -> String {
        match self {
            Target::Aws => format!(
                "arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{}",
                self.alarm_name(slug)
            ),
            Target::Local => format!(
                "arn:aws:cloudwatch:{}:{}:alarm:{}",
                local::REGION,
                local::ACCOUNT,
                self.alarm_name(slug)
            ),
        }
    }

    /// The dashboard name for `slug`, stack-prefixed on AWS for the same reason as alarms.
    pub fn dashboard_name(self, slug: &str) -> String {
        self.alarm_name(slug)
    }
}

fn placeholder(name: &str) -> String {
    format!("${{{name}}}")
}
