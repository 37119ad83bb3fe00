// ReadyCheck on Azure, deployed by `azd up`: a resource group holding the Functions app on the
// Flex Consumption plan, its storage, Service Bus, Event Grid and monitoring, all reached
// through one user-assigned managed identity. No key or secret appears here or in the outputs.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region for every resource (one that offers Flex Consumption).')
param location string

@description('Client id of a Microsoft Entra app registration for App Service Authentication; empty leaves it off.')
param authClientId string = ''

@description('App role that lets a principal see every submission and the digests.')
param reviewerRoleName string = 'Reviewer'

@description('Python version of the Functions runtime.')
@allowed([
  '3.11'
  '3.12'
  '3.13'
])
param pythonVersion string = '3.11'

@description('Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Name of the blob trigger function that ingests answer sheets (as the app registers it).')
param ingestFunctionName string = 'ingest_workbook'

// ReadyCheck's names; the same values as local.settings.sample.json and shared/settings.py
// (tests/unit/test_settings_names.py holds them together).
var gradingQueueName = 'grading'
var answerSheetsContainerName = 'answer-sheets'
var reportsContainerName = 'reports'
var digestsContainerName = 'digests'
var tablePrefix = 'readycheck'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var eventDeadLetterContainerName = 'event-deadletters'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-readycheck-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      answerSheetsContainerName
      reportsContainerName
      digestsContainerName
    ]
    deploymentContainerName: deploymentContainerName
    eventDeadLetterContainerName: eventDeadLetterContainerName
    // One table holds every entity (shared/records.py); it is named by the table prefix.
    tableNames: [
      tablePrefix
    ]
    appPrincipalId: identity.outputs.principalId
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: 'sb-${resourceToken}'
    location: location
    tags: tags
    gradingQueueName: gradingQueueName
    appPrincipalId: identity.outputs.principalId
    workspaceId: monitoring.outputs.workspaceId
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: 'evgt-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    eventDeadLetterContainerName: eventDeadLetterContainerName
  }
}

// Every setting the app reads (local.settings.sample.json lists the same keys). Connections use
// the identity-based `__` forms with the user-assigned identity's client id.
var appSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  AzureWebJobsFeatureFlags: 'EnableWorkerIndexing'
  READYCHECK_STORAGE__credential: 'managedidentity'
  READYCHECK_STORAGE__clientId: identity.outputs.clientId
  READYCHECK_STORAGE__blobServiceUri: storage.outputs.blobEndpoint
  READYCHECK_STORAGE__queueServiceUri: storage.outputs.queueEndpoint
  READYCHECK_STORAGE__tableServiceUri: storage.outputs.tableEndpoint
  READYCHECK_SERVICEBUS__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  READYCHECK_SERVICEBUS__credential: 'managedidentity'
  READYCHECK_SERVICEBUS__clientId: identity.outputs.clientId
  READYCHECK_GRADING_QUEUE: gradingQueueName
  READYCHECK_ANSWER_SHEETS_CONTAINER: answerSheetsContainerName
  READYCHECK_REPORTS_CONTAINER: reportsContainerName
  READYCHECK_DIGESTS_CONTAINER: digestsContainerName
  READYCHECK_TABLE_PREFIX: tablePrefix
  READYCHECK_DIGEST_SCHEDULE: '0 0 6 * * *'
  READYCHECK_SWEEP_SCHEDULE: '0 */5 * * * *'
  READYCHECK_STUCK_GRADING_MINUTES: '30'
  READYCHECK_MAX_RESEND_ATTEMPTS: '3'
  READYCHECK_MAX_UPLOAD_BYTES: '10485760'
  READYCHECK_MAX_UNCOMPRESSED_BYTES: '209715200'
  READYCHECK_MAX_ROWS: '100000'
  READYCHECK_MAX_COLUMNS: '500'
  READYCHECK_MAX_CELLS: '5000000'
  READYCHECK_MAX_ZIP_ENTRIES: '1000'
  READYCHECK_MAX_COMPRESSION_RATIO: '200'
  READYCHECK_READY_PERCENT: '80'
  READYCHECK_ALMOST_READY_PERCENT: '60'
  READYCHECK_REPORT_RETRY_AFTER_SECONDS: '5'
  READYCHECK_EASY_AUTH_ENABLED: empty(authClientId) ? 'false' : 'true'
  READYCHECK_REVIEWER_ROLE: reviewerRoleName
  // Both the Functions host and azure-monitor-opentelemetry's exporter read this and authenticate to
  // Application Insights with the user-assigned identity (local auth is off on the component).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
}

// Through its inputs (appSettings, the storage endpoint, the component name) the app deploys after
// the storage, Service Bus and monitoring modules, so the identity's data roles exist before the
// host first starts and reads its storage.
module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    pythonVersion: pythonVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appSettings: appSettings
    authClientId: authClientId
  }
}

// azd stores these in the environment (.azure/<env>/.env); the postdeploy hook reads them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output READYCHECK_API_URL string = 'https://${functionApp.outputs.defaultHostName}/api'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output EVENTGRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name
output EVENTGRID_DEADLETTER_CONTAINER string = eventDeadLetterContainerName
output READYCHECK_ANSWER_SHEETS_CONTAINER string = answerSheetsContainerName
output READYCHECK_INGEST_FUNCTION_NAME string = ingestFunctionName
