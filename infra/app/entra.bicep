// The Entra ID application that App Service authentication validates tokens for, with the app's two roles.
// Azure Monitor's secure webhook calls the app as the "AzNS AAD Webhook" service principal, which gets the
// operator role here so that /api/alerts accepts it (the policy still decides what an alert may do).
extension microsoftGraphV1

param uniqueName string
param displayName string

@description('App role the action group\'s secure webhook is granted.')
param webhookRole string = 'DR.Operator'

// Azure Monitor's well-known application for secure webhooks ("AzNS AAD Webhook").
var azureMonitorWebhookAppId = '461e8683-5575-4561-ac7f-899cc907d62a'
var operatorRoleId = guid(uniqueName, 'DR.Operator')
var readerRoleId = guid(uniqueName, 'DR.Reader')

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [
    'api://${tenant().tenantId}/${uniqueName}'
  ]
  api: {
    requestedAccessTokenVersion: 2
  }
  appRoles: [
    {
      id: operatorRoleId
      value: 'DR.Operator'
      displayName: 'DR operator'
      description: 'Starts, approves, cancels and continues failovers, failbacks and drills.'
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      isEnabled: true
    }
    {
      id: readerRoleId
      value: 'DR.Reader'
      displayName: 'DR reader'
      description: 'Reads status, runs, drills and decisions.'
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      isEnabled: true
    }
  ]
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
  appRoleAssignmentRequired: true
}

resource azureMonitorWebhook 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: azureMonitorWebhookAppId
}

resource webhookRoleAssignment 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: webhookRole == 'DR.Reader' ? readerRoleId : operatorRoleId
  principalId: azureMonitorWebhook.id
  resourceId: servicePrincipal.id
}

output clientId string = application.appId
output objectId string = application.id
output identifierUri string = 'api://${tenant().tenantId}/${uniqueName}'
