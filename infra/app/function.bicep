// The Function App on Flex Consumption (Python 3.11), running function_app.py as is. Its package comes from a
// blob container of the app's storage account, read with the app's identity. App Service authentication
// (Entra ID) stands in front of every route except the Event Grid extension's webhook, which Event Grid calls
// with the extension's system key.
param name string
param planName string
param location string
param tags object = {}
param identityId string
param storageBlobEndpoint string
param deploymentContainerName string
param appSettings object
param authClientId string
param authAudience string
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 40

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy exists only in some regions and keeps two always-ready instances billed; the orchestrator's resilience comes from running outside the region it protects. Set properties.zoneRedundant where the region supports it.
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
  // checkov:skip=CKV_AZURE_222: Azure Monitor's action group and Event Grid deliver signals to the app over its public endpoint; Entra ID authentication (authsettingsV2 below) guards every route.
  // checkov:skip=CKV_AZURE_17: callers authenticate with Entra ID tokens (App Service authentication), not client certificates.
  // checkov:skip=CKV_AZURE_212: Flex Consumption manages instance counts itself (per-function scaling); work is queue- and timer-driven, so a cold start delays a step by seconds, never loses it.
  // checkov:skip=CKV_AZURE_213: Flex Consumption does not support the App Service health check; GET /api/health serves external probes.
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
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(appSettings): { name: setting.key, value: setting.value }]
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
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  // This resource is the authsettingsV2 document, not the site's "web" configuration: the web-app checks below
  // read site settings that do not exist on it.
  // checkov:skip=CKV_AZURE_13: this IS the App Service authentication configuration (platform.enabled, Entra ID provider, 401 for anonymous callers).
  // checkov:skip=CKV_AZURE_63: HTTP logging is a "web" config setting; Flex Consumption sends logs to Application Insights.
  // checkov:skip=CKV_AZURE_65: detailed error pages are a "web" config setting; not applicable to a Functions API.
  // checkov:skip=CKV_AZURE_66: failed request tracing is a "web" config setting; Flex Consumption sends telemetry to Application Insights.
  // checkov:skip=CKV_AZURE_80: .NET Framework version does not apply: a Python 3.11 app.
  // checkov:skip=CKV_AZURE_88: Azure Files content share does not apply: Flex Consumption runs the package from a blob container.
  // checkov:skip=CKV_AZURE_222: public network access is a site property, set on the site above (see its skip).
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      // Event Grid calls its extension webhook with the extension's system key; /api/health is anonymous.
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
        '/api/health'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            authAudience
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

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
