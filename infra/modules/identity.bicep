// The one user-assigned identity the Functions app uses for every service it talks to.
// A user-assigned identity (not system-assigned) exists before the app, so its role
// assignments are in place when the host first starts and reads its storage.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
