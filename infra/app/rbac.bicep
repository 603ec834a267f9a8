// Every role the app's identity holds, in one place (least privilege: each role on the narrowest scope that works).
//   Site Recovery Contributor      the vault's resource group      failover, commit, reprotect, test failover
//   Virtual Machine Contributor    each recovery resource group    test-failover VMs, shutdown, cleanup
//   Storage Table/Queue Data Contributor, Blob Data Owner, the app's account   runs, work items, reports, package
//   EventGrid Data Sender          the operator topic              operator events
//   Monitoring Metrics Publisher   Application Insights            telemetry with Entra ID auth (local auth is off)
//   Reader                         the subscription                readiness checks: quota, resource locations
targetScope = 'subscription'

param principalId string
@description('Object id of the user running azd (storage data roles for debugging); empty: none.')
param userPrincipalId string = ''
param appResourceGroup string
param storageAccountName string
param topicName string
param appInsightsName string
param vaultSubscriptionId string
param vaultResourceGroup string
param recoveryResourceGroupIds array = []

var roles = {
  reader: 'acdd72a7-3c48-4c0b-83ae-f96d4d6c8e8e'
  siteRecoveryContributor: '6670b86e-a3f7-4917-ac9b-5d6ab1be4567'
  virtualMachineContributor: '9980e02c-c2be-4d73-94e8-173b1dc7cf3c'
}

resource subscriptionReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roles.reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

module vaultRole 'role-resource-group.bicep' = {
  name: 'rbac-vault'
  scope: resourceGroup(vaultSubscriptionId, vaultResourceGroup)
  params: {
    principalId: principalId
    roleDefinitionId: roles.siteRecoveryContributor
  }
}

module recoveryRoles 'role-resource-group.bicep' = [
  for rgId in recoveryResourceGroupIds: {
    name: 'rbac-recovery-${uniqueString(rgId)}'
    scope: resourceGroup(split(rgId, '/')[2], split(rgId, '/')[4])
    params: {
      principalId: principalId
      roleDefinitionId: roles.virtualMachineContributor
    }
  }
]

module appRoles 'rbac-app.bicep' = {
  name: 'rbac-app'
  scope: resourceGroup(appResourceGroup)
  params: {
    principalId: principalId
    userPrincipalId: userPrincipalId
    storageAccountName: storageAccountName
    topicName: topicName
    appInsightsName: appInsightsName
  }
}
