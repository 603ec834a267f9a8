// Site Recovery Autopilot: one `azd up` deploys the DR orchestrator next to (never inside) the region it protects.
// Identity only: no storage keys, no connection strings with secrets, no keys in webhook URLs.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds the unique names of every resource.')
param environmentName string

@minLength(1)
@description('Region of the orchestrator itself. It must not be a protected (primary) region: the app has to survive the outage it handles. Use the recovery region or a third one.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource id of the Recovery Services vault whose replicated VMs the app fails over.')
param vaultId string

@minLength(1)
@description('ARM names of the protected (primary) regions, e.g. ["eastus"]. Service Health incidents there raise signals.')
param protectedRegions array

@minLength(1)
@description('ARM names of the recovery regions, e.g. ["westus"].')
param recoveryRegions array

@description('Resource ids of the resource groups the VMs fail over into (and test failover into); the app gets Virtual Machine Contributor there.')
param recoveryResourceGroupIds array = []

@description('The failover policy as JSON text (DR_POLICY). Empty: the app uses DR_POLICY_FILE or its built-in default.')
param drPolicy string = ''

@description('Path of a policy file inside the deployed package (DR_POLICY_FILE). Empty: none.')
param drPolicyFile string = ''

@description('NCRONTAB schedule of the scheduled DR drills (six fields, UTC).')
param drillSchedule string = '0 0 3 * * 6'

@description('NCRONTAB schedule of the region-health probes.')
param probeSchedule string = '0 */1 * * * *'

@description('NCRONTAB schedule of the readiness evaluation.')
param readinessSchedule string = '0 */15 * * * *'

@description('Send the vault\'s Site Recovery diagnostic logs to the app\'s Log Analytics workspace.')
param sendVaultDiagnostics bool = true

@description('Create the Event Grid subscription from the HealthResources system topic to the app. It needs the function to exist, so the first `azd up` leaves it off and the postdeploy hook provisions again with it on.')
param subscribeHealthEvents bool = false

@description('Object id of the user running azd; gets the storage data roles on the app\'s account for debugging. Empty: none.')
param principalId string = ''

var abbrs = {
  resourceGroup: 'rg-'
  identity: 'id-'
  storage: 'st'
  logAnalytics: 'log-'
  appInsights: 'appi-'
  plan: 'plan-'
  functionApp: 'func-'
  topic: 'evgt-'
  systemTopic: 'evgst-'
  actionGroup: 'ag-'
  alert: 'alert-'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var resourceGroupName = '${abbrs.resourceGroup}${environmentName}'

// ---- the one rule that must hold before anything is created -----------------------------------------------
// The orchestrator must outlive the outage it handles, so it may not live in a region it protects.
var normalizedProtectedRegions = map(protectedRegions, r => toLower(replace(r, ' ', '')))
var normalizedRecoveryRegions = map(recoveryRegions, r => toLower(replace(r, ' ', '')))
var appRegion = toLower(replace(location, ' ', ''))
var appRegionIsProtected = contains(normalizedProtectedRegions, appRegion)
var appLocation = appRegionIsProtected ? fail('location ${location} is a protected region: the DR orchestrator must not run in the region it protects. Deploy it to a recovery region or a third region.') : appRegion

// ---- what the Bicep wires to the app (tests/infra compares this with what function_app.py registers) ------
var appContract = {
  // The Event Grid trigger that receives HealthResources events.
  eventGridFunction: 'eventgrid_signals'
  // The HTTP route (under host.json's routePrefix, default "api") the action group's secure webhook posts to.
  alertsRoute: 'alerts'
  routePrefix: 'api'
}

var vaultParts = split(vaultId, '/')
var vaultSubscriptionId = vaultParts[2]
var vaultResourceGroup = vaultParts[4]
var vaultName = vaultParts[8]

// Service Health speaks display names ("East US"); the alert condition has to as well.
var regionDisplayNames = loadJsonContent('regions.json')
var protectedRegionDisplayNames = map(normalizedProtectedRegions, r => contains(regionDisplayNames, r) ? regionDisplayNames[r] : r)
// Reprotect needs a cache storage account in the region the VMs run in: the protected ones before a failover,
// the recovery ones after it.
var cacheRegions = union(normalizedProtectedRegions, normalizedRecoveryRegions)
var cacheAccounts = [for region in cacheRegions: { region: region, name: take('stc${take(region, 10)}${resourceToken}', 24) }]
// Account ids are known before deployment, so the setting needs no module outputs.
var cacheStorageSetting = join(map(cacheAccounts, a => '${a.region}=${subscription().id}/resourceGroups/${resourceGroupName}/providers/Microsoft.Storage/storageAccounts/${a.name}'), ';')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: appLocation
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.identity}dr-${resourceToken}'
    location: appLocation
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.logAnalytics}${resourceToken}'
    appInsightsName: '${abbrs.appInsights}${resourceToken}'
    location: appLocation
    tags: tags
  }
}

var functionAppName = '${abbrs.functionApp}dr-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 12)}'

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storage}${resourceToken}'
    location: appLocation
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module cacheStorage 'app/cache-storage.bicep' = [
  for account in cacheAccounts: {
    name: 'cache-storage-${account.region}'
    scope: rg
    params: {
      name: account.name
      location: account.region
      tags: tags
    }
  }
]

module operatorEvents 'app/operator-events.bicep' = {
  name: 'operator-events'
  scope: rg
  params: {
    name: '${abbrs.topic}dr-${resourceToken}'
    location: appLocation
    tags: tags
  }
}

module entra 'app/entra.bicep' = {
  name: 'entra'
  scope: rg
  params: {
    uniqueName: 'dr-autopilot-${resourceToken}'
    displayName: 'Site Recovery Autopilot (${environmentName})'
  }
}

// Every app setting the deployed app gets, in one object (tests/infra and the README table read it).
var appSettings = union(
  {
    // Identity-based connection for the Functions host (triggers) and the app's tables, queues and blobs.
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.outputs.clientId
    AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
    AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
    AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
    // DefaultAzureCredential picks the user-assigned identity by this client id.
    AZURE_CLIENT_ID: identity.outputs.clientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
    ASR_SUBSCRIPTION_ID: vaultSubscriptionId
    ASR_RESOURCE_GROUP: vaultResourceGroup
    ASR_VAULT_NAME: vaultName
    ASR_CACHE_STORAGE_ACCOUNTS: cacheStorageSetting
    EVENTGRID_TOPIC_ENDPOINT: operatorEvents.outputs.endpoint
    AUTH_MODE: 'easyauth'
    DRILL_SCHEDULE: drillSchedule
    PROBE_SCHEDULE: probeSchedule
    READINESS_SCHEDULE: readinessSchedule
  },
  empty(drPolicy) ? {} : { DR_POLICY: drPolicy },
  empty(drPolicyFile) ? {} : { DR_POLICY_FILE: drPolicyFile }
)

module function 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.plan}${resourceToken}'
    location: appLocation
    tags: tags
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    appSettings: appSettings
    authClientId: entra.outputs.clientId
    authAudience: entra.outputs.identifierUri
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    userPrincipalId: principalId
    appResourceGroup: rg.name
    storageAccountName: storage.outputs.name
    topicName: operatorEvents.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    vaultSubscriptionId: vaultSubscriptionId
    vaultResourceGroup: vaultResourceGroup
    recoveryResourceGroupIds: recoveryResourceGroupIds
  }
}

module signals 'app/signals.bicep' = {
  name: 'signals'
  scope: rg
  params: {
    tags: tags
    systemTopicName: '${abbrs.systemTopic}health-${resourceToken}'
    actionGroupName: '${abbrs.actionGroup}dr-${resourceToken}'
    alertName: '${abbrs.alert}service-health-${resourceToken}'
    functionAppId: function.outputs.id
    eventGridFunctionName: appContract.eventGridFunction
    subscribeHealthEvents: subscribeHealthEvents
    alertsUrl: 'https://${function.outputs.defaultHostName}/${appContract.routePrefix}/${appContract.alertsRoute}'
    webhookAppObjectId: entra.outputs.objectId
    webhookIdentifierUri: entra.outputs.identifierUri
    protectedRegionDisplayNames: protectedRegionDisplayNames
  }
}

module vaultDiagnostics 'app/vault-diagnostics.bicep' = if (sendVaultDiagnostics) {
  name: 'vault-diagnostics'
  scope: resourceGroup(vaultSubscriptionId, vaultResourceGroup)
  params: {
    vaultName: vaultName
    workspaceId: monitoring.outputs.workspaceId
  }
}

output AZURE_LOCATION string = appLocation
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = function.outputs.name
output SERVICE_API_NAME string = function.outputs.name
output SERVICE_API_URI string = 'https://${function.outputs.defaultHostName}'
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output EVENTGRID_TOPIC_ENDPOINT string = operatorEvents.outputs.endpoint
output ASR_CACHE_STORAGE_ACCOUNTS string = cacheStorageSetting
output DR_APP_CLIENT_ID string = entra.outputs.clientId
output DR_APP_IDENTIFIER_URI string = entra.outputs.identifierUri
output DR_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
