// The storage account: the host's own storage (AzureWebJobsStorage), the Flex Consumption
// deployment container, ReadyCheck's blob containers and its state table. Shared keys are
// off, so every caller (the app, azd, Event Grid) authenticates with Microsoft Entra ID.

@description('Name of the storage account (3-24 lowercase letters and digits).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Blob containers ReadyCheck reads and writes.')
param containerNames array

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob container where Event Grid dead-letters events it could not deliver.')
param eventDeadLetterContainerName string

@description('Tables ReadyCheck keeps its state in.')
param tableNames array

@description('Principal id of the app identity, granted data roles on this account.')
param appPrincipalId string

// Built-in data-plane roles, the least that the Functions host and ReadyCheck need, each on the
// narrowest scope Azure and the host allow. Account-wide: Blob Data Owner, because the host's blob
// trigger and deployment storage need it (Contributor is not enough for the host) and the host
// creates its own containers (azure-webjobs-hosts, azure-webjobs-secrets) at run time, so they cannot
// be named here; Queue Data Contributor for the blob trigger's poison queue, which the host also
// creates itself. Per table: Table Data Contributor on ReadyCheck's state tables only. No
// control-plane role: the app never manages the account.
var accountRoles = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
]
var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_59:Flex Consumption without a virtual network reaches storage over public endpoints; every request still needs an Entra token because shared keys are off.
  //checkov:skip=CKV_AZURE_35:Default action Allow for the same reason; a private deployment adds VNet integration and private endpoints.
  //checkov:skip=CKV_AZURE_206:Locally redundant is enough: answer sheets can be uploaded again and reports are re-rendered from Table Storage state.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in concat(containerNames, [deploymentContainerName, eventDeadLetterContainerName]): {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

resource appRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in accountRoles: {
    name: guid(account.id, appPrincipalId, roleId)
    scope: account
    properties: {
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

resource appTableRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (tableName, i) in tableNames: {
    name: guid(tables[i].id, appPrincipalId, tableDataContributor)
    scope: tables[i]
    properties: {
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
    }
  }
]

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
