// The Event Grid system topic on the storage account. Flex Consumption runs blob triggers only
// from Event Grid; the subscription to the app's blob extension webhook is deployed after the
// code (blob-trigger-subscription.bicep), because the webhook answers Event Grid's validation
// handshake only once the blob trigger function is running.

@description('Name of the system topic.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name of the storage account whose blob events the topic publishes.')
param storageAccountName string

@description('Blob container where undeliverable events are dead-lettered.')
param eventDeadLetterContainerName string

// Storage Blob Data Contributor: lets the topic's own identity write dead-lettered events, and
// only into the one container below.
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: eventDeadLetterContainerName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, name, blobDataContributor)
  scope: deadLetterContainer
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
  }
}

output name string = topic.name
