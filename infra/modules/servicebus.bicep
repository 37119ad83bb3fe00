// Service Bus: Standard tier, because duplicate detection (deterministic message ids make
// re-sends idempotent) is not available on Basic. Local (SAS) auth is off.

@description('Name of the Service Bus namespace.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name of the queue that carries one message per submission and section.')
param gradingQueueName string

@description('Principal id of the app identity, granted data sender and receiver.')
param appPrincipalId string

@description('Resource id of the Log Analytics workspace that receives the namespace metrics.')
param workspaceId string

// The app sends (ingest fans out, the sweeper re-sends) and receives (the graders, the dead-letter
// replay), all on the grading queue: the roles are granted on that queue, not the namespace.
var appRoles = [
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
]

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// The same values as infra/local/servicebus-config.json (tests/unit/test_settings_names.py holds
// them together): five deliveries before dead-lettering, a one-minute lock that the host renews,
// a ten-minute duplicate window that covers the sweeper's re-sends, expired messages kept.
resource gradingQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: gradingQueueName
  properties: {
    maxDeliveryCount: 5
    lockDuration: 'PT1M'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'PT1H'
    requiresSession: false
  }
}

resource appRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in appRoles: {
    name: guid(gradingQueue.id, appPrincipalId, roleId)
    scope: gradingQueue
    properties: {
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

// Queue metrics (active and dead-lettered message counts) land in Log Analytics' AzureMetrics
// table, where docs/runbook.md's queries and alerts read them.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output name string = namespace.name
// From the endpoint rather than a hard-coded suffix, so sovereign clouds get their own host name.
output fullyQualifiedNamespace string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
output gradingQueueName string = gradingQueue.name
