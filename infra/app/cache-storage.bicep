// A cache storage account for Site Recovery in one region: reprotect (switch protection) stages the replicated
// data of the VMs in the region they now run in, so every protected and every recovery region needs one.
param name string
param location string
param tags object = {}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_59: Site Recovery writes to its cache account as a trusted Microsoft service; the firewall denies everything else (defaultAction Deny, bypass AzureServices).
  name: name
  location: location
  tags: union(tags, { purpose: 'asr-cache' })
  kind: 'StorageV2'
  sku: {
    // checkov:skip=CKV_AZURE_206: a Site Recovery cache account holds transient staging data that is re-sent on loss; ASR asks for locally redundant standard storage here.
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: { enabled: true }
      }
    }
  }
}

output id string = account.id
output name string = account.name
