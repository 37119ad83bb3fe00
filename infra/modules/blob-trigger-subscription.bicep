// The Event Grid subscription that feeds the ingest blob trigger on Flex Consumption.
// Deployed by azure.yaml's postdeploy hook, after the code: the blob extension's system key
// (blobs_extension) exists, and the webhook can answer Event Grid's validation, only once the
// blob trigger function runs. The key is read here with listKeys and never leaves Azure.

@description('Name of the Functions app.')
param functionAppName string

@description('Name of the Event Grid system topic on the storage account.')
param systemTopicName string

@description('Name of the blob trigger function (the name the app registers it under).')
param functionName string

@description('Blob container the trigger watches.')
param containerName string

@description('Name of the storage account that holds the dead-letter container.')
param storageAccountName string

@description('Blob container where undeliverable events are dead-lettered.')
param eventDeadLetterContainerName string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

var blobsExtensionKey = listKeys('${site.id}/host/default', '2024-04-01').systemKeys.blobs_extension

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  // Subscription names allow letters, digits and hyphens only; Python function names have underscores.
  name: '${replace(functionName, '_', '-')}-${containerName}'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${site.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/'
    }
    eventDeliverySchema: 'EventGridSchema'
    // Event Grid retries for a day; what still fails lands in the dead-letter container instead of
    // being dropped, so no upload is silently lost.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: account.id
          blobContainerName: eventDeadLetterContainerName
        }
      }
    }
  }
}

output name string = subscription.name
