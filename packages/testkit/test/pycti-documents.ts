/**
 * The GraphQL documents pycti 6.8.10 sends (reference/protocol-notes.md: health check, registration, ping,
 * playbook step, bundle push, works, queue sizes), verbatim,
 * plus the enrichment entity read the SDK sends. The testkit must validate and answer every one of them.
 */
export const HEALTH_CHECK = 'query healthCheck { about { version } }';

export const REGISTER_CONNECTOR = `
mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id
    connector_state
    config {
      connection { host vhost use_ssl port user pass }
      listen
      listen_routing
      listen_exchange
      push
      push_routing
      push_exchange
    }
    connector_user_id
  }
}`;

export const PING_CONNECTOR = `
mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput ) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
    id
    connector_state
    connector_info {
      run_and_terminate buffering queue_threshold queue_messages_size next_run_datetime last_run_datetime
    }
  }
}`;

export const GET_CONNECTOR = `
query GetConnector($id: String!) {
  connector(id: $id) {
    id name active auto only_contextual connector_type connector_scope connector_state
    connector_queue_details { messages_number messages_size }
    updated_at created_at
    config { listen listen_exchange push push_exchange push_routing }
    built_in
  }
}`;

export const RESET_STATE = 'mutation ResetState($id: ID!) { resetStateConnector(id: $id) { id connector_state } }';

export const DELETE_CONNECTOR = 'mutation ConnectorDeletionMutation($id: ID!) { deleteConnector(id: $id) }';

export const WORK_ADD = `
mutation workAdd($connectorId: String!, $friendlyName: String) {
  workAdd(connectorId: $connectorId, friendlyName: $friendlyName) { id }
}`;

export const WORK_TO_RECEIVED = `
mutation workToReceived($id: ID!, $message: String) { workEdit(id: $id) { toReceived (message: $message) } }`;

export const WORK_TO_PROCESSED = `
mutation workToProcessed($id: ID!, $message: String, $inError: Boolean) {
  workEdit(id: $id) { toProcessed (message: $message, inError: $inError) }
}`;

export const ADD_EXPECTATIONS = `
mutation addExpectations($id: ID!, $expectations: Int) { workEdit(id: $id) { addExpectations(expectations: $expectations) } }`;

export const REPORT_EXPECTATION = `
mutation reportExpectation($id: ID!, $error: WorkErrorInput) { workEdit(id: $id) { reportExpectation(error: $error) } }`;

export const ADD_DRAFT_CONTEXT = `
mutation addDraftContext($id: ID!, $draftContext: String) { workEdit(id: $id) { addDraftContext(draftContext: $draftContext) } }`;

export const PING_WORK = 'mutation pingWork($id: ID!) { workEdit(id: $id) { ping } }';

/** pycti 7, `upload_pending_file` (review before import, workbench mode), sent as a multipart request. */
export const UPLOAD_PENDING = `
                    mutation UploadPending($file: Upload!, $entityId: String, $file_markings: [String!]) {
                        uploadPending(file: $file, entityId: $entityId, file_markings: $file_markings) {
                            id
                            name
                        }
                    }
                 `;

/** pycti 7, `create_draft` (review before import, draft mode). */
export const DRAFT_WORKSPACE_ADD = `
                    mutation draftWorkspaceAdd($input: DraftWorkspaceAddInput!) {
                        draftWorkspaceAdd(input: $input) {
                            id
                        }
                    }
                 `;

export const DELETE_WORK = 'mutation ConnectorWorksMutation($workId: ID!) { workEdit(id: $workId) { delete } }';

export const WORK_QUERY = `
query WorkQuery($id: ID!) { work(id: $id) { id name user { name } timestamp status event_source_id received_time
  processed_time completed_time tracking { import_expected_number import_processed_number }
  messages { timestamp message sequence source } errors { timestamp message sequence source } } }`;

export const WORK_ALIVE = 'query WorkAliveQuery($id: ID!) { isWorkAlive(id: $id) }';

export const WORKS_OF_CONNECTOR = `
query ConnectorWorks($filters: FilterGroup) {
  works(first: 50, filters: $filters) {
    edges { node { id name status timestamp tracking { import_expected_number import_processed_number } } }
  }
}`;

export const STIX_BUNDLE_PUSH = `
mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)
}`;

export const PLAYBOOK_STEP_EXECUTION = `
mutation PlaybookStepExecution($execution_id: ID!, $event_id: ID!, $execution_start: DateTime!, $data_instance_id: ID!,
  $playbook_id: ID!, $previous_step_id: ID!, $step_id: ID!, $previous_bundle: String!, $bundle: String!) {
  playbookStepExecution(execution_id: $execution_id, event_id: $event_id, execution_start: $execution_start,
    data_instance_id: $data_instance_id, playbook_id: $playbook_id, previous_step_id: $previous_step_id,
    step_id: $step_id, previous_bundle: $previous_bundle, bundle: $bundle)
}`;

export const ASK_ENRICHMENT = `
mutation AskEnrichment($id: ID!, $connectorId: ID!) {
  stixCoreObjectEdit(id: $id) { askEnrichment(connectorId: $connectorId) { id name status event_source_id } }
}`;

/** The enrichment entity read (the SDK's document: any Stix-Core-Object by id). */
export const READ_ENTITY = `
query ReadEntity($id: String!) {
  stixCoreObject(id: $id) {
    id
    standard_id
    entity_type
    parent_types
    objectMarking { id standard_id entity_type definition_type definition x_opencti_order }
    createdBy { id standard_id name ... on Identity { name } }
    objectLabel { value }
    externalReferences { edges { node { source_name url external_id } } }
    ... on StixCyberObservable { observable_value x_opencti_description x_opencti_score }
    ... on IPv4Addr { value }
    ... on IPv6Addr { value }
    ... on DomainName { value }
    ... on Url { value }
    ... on EmailAddr { value }
    ... on Hostname { value }
    ... on StixDomainObject { created modified }
    ... on Indicator { name pattern pattern_type }
    ... on Malware { name }
    ... on Organization { name }
  }
}`;

export const ALL_DOCUMENTS: Record<string, string> = {
  HEALTH_CHECK,
  REGISTER_CONNECTOR,
  PING_CONNECTOR,
  GET_CONNECTOR,
  RESET_STATE,
  DELETE_CONNECTOR,
  WORK_ADD,
  WORK_TO_RECEIVED,
  WORK_TO_PROCESSED,
  ADD_EXPECTATIONS,
  REPORT_EXPECTATION,
  ADD_DRAFT_CONTEXT,
  UPLOAD_PENDING,
  DRAFT_WORKSPACE_ADD,
  PING_WORK,
  DELETE_WORK,
  WORK_QUERY,
  WORK_ALIVE,
  WORKS_OF_CONNECTOR,
  STIX_BUNDLE_PUSH,
  PLAYBOOK_STEP_EXECUTION,
  ASK_ENRICHMENT,
  READ_ENTITY,
};
