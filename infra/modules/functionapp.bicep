// The Functions app on the Flex Consumption plan: Python, a user-assigned identity for every
// connection (host storage, deployment storage, ReadyCheck's storage and Service Bus, App Insights),
// no publishing credentials, and optional App Service Authentication with Microsoft Entra ID.

@description('Name of the Functions app.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to every resource (the app also gets azd-service-name).')
param tags object

@description('Python version of the Flex Consumption runtime.')
@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string

@description('Upper bound of instances Flex Consumption scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance in MB; pandas and python-docx fit in 2048.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Blob endpoint of the storage account that holds the deployment container.')
param storageBlobEndpoint string

@description('Blob container for the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('App settings (identity-based connections and ReadyCheck settings), built in main.bicep.')
param appSettings object

@description('Client id of the Microsoft Entra app registration for App Service Authentication; empty turns it off.')
param authClientId string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// A variable loop over the parameter: its keys are known when the deployment starts, which a
// for-expression needs (the connection string below is only known later).
var settingsFromMain = [
  for setting in items(appSettings): {
    name: setting.key
    value: setting.value
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225:Zone redundancy on Flex Consumption is offered only in some regions and needs always-ready instances; a readiness grader tolerates a zone outage by retrying.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_17:Client certificates would break Event Grid's webhook deliveries; callers use function keys and, when on, Entra ID.
  //checkov:skip=CKV_AZURE_212:Flex Consumption has no instance count to pin; it scales per function from zero.
  //checkov:skip=CKV_AZURE_222:Public network access is needed for Event Grid's webhook deliveries and for callers outside a virtual network.
  //checkov:skip=CKV_AZURE_213:App Service health check is not available on Flex Consumption (instances scale to zero); /api/health serves an external probe or an Application Insights availability test instead.
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // The connection string is read from the component here, never passed through an output; with
      // local auth off on the component it is only an address: ingestion needs the identity's token.
      appSettings: concat(settingsFromMain, [
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
      ])
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// No FTP or SCM basic-auth publishing: azd deploys with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// App Service Authentication (Easy Auth) with Microsoft Entra ID, on when authClientId is set. The platform validates the
// bearer token and sets X-MS-CLIENT-PRINCIPAL itself, replacing any such header a caller sends.
// Event Grid's webhook and the anonymous routes (health, the blank template, the OpenAPI document)
// stay outside it: they carry the blob extension's system key or nothing, never a user token.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  //checkov:skip=CKV_AZURE_13:checkov reads only the legacy authsettings shape; this is authsettingsV2, on when authClientId is set.
  //checkov:skip=CKV_AZURE_63:checkov applies web-config checks to every sites/config child; Flex Consumption has no HTTP log files, requests go to Application Insights.
  //checkov:skip=CKV_AZURE_65:Same as CKV_AZURE_63: detailed error pages are an IIS/file-log feature that Flex Consumption does not have.
  //checkov:skip=CKV_AZURE_66:Same as CKV_AZURE_63: failed request tracing is an IIS/file-log feature; failures are traced in Application Insights.
  //checkov:skip=CKV_AZURE_80:The app runs Python, not .NET.
  //checkov:skip=CKV_AZURE_88:Flex Consumption has no Azure Files content share; code comes from the deployment blob container.
  //checkov:skip=CKV_AZURE_222:Public network access is needed for Event Grid's webhook deliveries and for callers outside a virtual network.
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: !empty(authClientId)
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/blobs'
        '/api/health'
        '/api/template'
        '/api/openapi.json'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: !empty(authClientId)
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
