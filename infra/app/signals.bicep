// The two ways region-health signals reach the app:
//  - Service Health incidents in the protected regions -> activity-log alert -> action group -> secure webhook
//    (Entra ID token, common alert schema) -> POST /api/alerts;
//  - HealthResources events (VM availability) -> Event Grid system topic -> the app's Event Grid trigger.
param tags object = {}
param systemTopicName string
param actionGroupName string
param alertName string
param functionAppId string
param eventGridFunctionName string
param subscribeHealthEvents bool
param alertsUrl string
param webhookAppObjectId string
param webhookIdentifierUri string
param protectedRegionDisplayNames array

resource healthTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  properties: {
    source: subscription().id
    topicType: 'Microsoft.ResourceNotifications.HealthResources'
  }
}

resource healthSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (subscribeHealthEvents) {
  parent: healthTopic
  name: 'dr-autopilot'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${eventGridFunctionName}'
        maxEventsPerBatch: 1
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged'
        'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated'
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'dr-autopilot'
    enabled: true
    webhookReceivers: [
      {
        name: 'dr-autopilot-alerts'
        serviceUri: alertsUrl
        useCommonAlertSchema: true
        useAadAuth: true
        objectId: webhookAppObjectId
        identifierUri: webhookIdentifierUri
        tenantId: tenant().tenantId
      }
    ]
  }
}

resource serviceHealthAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: alertName
  location: 'Global'
  tags: tags
  properties: {
    enabled: true
    description: 'Service Health incidents in the regions Site Recovery Autopilot protects.'
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ServiceHealth'
        }
        {
          field: 'properties.incidentType'
          equals: 'Incident'
        }
        {
          field: 'properties.impactedServices[*].ImpactedRegions[*].RegionName'
          containsAny: union(protectedRegionDisplayNames, ['Global'])
        }
      ]
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: actionGroup.id
          webhookProperties: {}
        }
      ]
    }
  }
}

output systemTopicName string = healthTopic.name
output actionGroupId string = actionGroup.id
