/**
 * Every GraphQL document the SDK sends to OpenCTI. Each one is named (the operation name shows in the
 * platform's logs and in our errors) and is validated against the platform schema by documents.test.ts,
 * which walks this module's exports: a document added here cannot escape that check.
 *
 * Selections follow pycti 6.8.10 (reference/protocol-notes.md; its documents verbatim in the testkit's
 * test/pycti-documents.ts) so the platform
 * sees the same requests it sees from a Python connector. The entity read is ours (pycti reads through
 * per-type readers with a very large selection); it asks only for what enrichment needs.
 */

/** Liveness and version (§2.5). Any authenticated user may read `about.version`. */
export const HEALTH_CHECK = `query healthCheck {
  about {
    version
  }
}`;

/**
 * Registration (§3.1), pycti 6.8.10's selection. The document is the same on every platform version:
 * which optional input fields are sent is decided in the client from the platform version, because an
 * older platform rejects an input field it does not know (GraphQL validation of the variable value).
 */
export const REGISTER_CONNECTOR = `mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id
    connector_state
    config {
      connection {
        host
        vhost
        use_ssl
        port
        user
        pass
      }
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

/**
 * The input fields `RegisterConnectorInput` declares: pycti 7 asks before registering, and sends the
 * connector's version and slug only to a platform that declares both (they are newer than 7.260318.0).
 */
export const REGISTER_CONNECTOR_INPUT_FIELDS = `query RegisterConnectorInputFields {
  registerConnectorInput: __type(name: "RegisterConnectorInput") {
    inputFields {
      name
    }
  }
}`;

/** Keep-alive, state and scheduler information (§4.1, §9.4). */
export const PING_CONNECTOR = `mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
    id
    connector_state
    connector_info {
      run_and_terminate
      buffering
      queue_threshold
      queue_messages_size
      next_run_datetime
      last_run_datetime
    }
  }
}`;

/** The connector as the platform sees it, with its queue sizes for back-pressure (§9.3). */
export const GET_CONNECTOR = `query GetConnector($id: String!) {
  connector(id: $id) {
    id
    name
    active
    auto
    only_contextual
    connector_type
    connector_scope
    connector_state
    connector_queue_details {
      messages_number
      messages_size
    }
    updated_at
    created_at
    config {
      listen
      listen_exchange
      push
      push_exchange
      push_routing
    }
    built_in
  }
}`;

/** Work API (§7). */
export const WORK_ADD = `mutation workAdd($connectorId: String!, $friendlyName: String) {
  workAdd(connectorId: $connectorId, friendlyName: $friendlyName) {
    id
  }
}`;

export const WORK_TO_RECEIVED = `mutation workToReceived($id: ID!, $message: String) {
  workEdit(id: $id) {
    toReceived(message: $message)
  }
}`;

export const WORK_TO_PROCESSED = `mutation workToProcessed($id: ID!, $message: String, $inError: Boolean) {
  workEdit(id: $id) {
    toProcessed(message: $message, inError: $inError)
  }
}`;

export const WORK_ADD_EXPECTATIONS = `mutation addExpectations($id: ID!, $expectations: Int) {
  workEdit(id: $id) {
    addExpectations(expectations: $expectations)
  }
}`;

export const WORK_REPORT_EXPECTATION = `mutation reportExpectation($id: ID!, $error: WorkErrorInput) {
  workEdit(id: $id) {
    reportExpectation(error: $error)
  }
}`;

export const WORK_PING = `mutation pingWork($id: ID!) {
  workEdit(id: $id) {
    ping
  }
}`;

/**
 * The state of a work (needs MODULES, as pycti's wait_for_work_to_finish): lets a redelivered listen
 * message whose outcome was already recorded be acknowledged without processing it twice.
 */
export const WORK_STATUS = `query WorkStatus($id: ID!) {
  work(id: $id) {
    id
    status
    processed_time
  }
}`;

/** Bundle upload for `CONNECTOR_QUEUE_PROTOCOL=api` (§6.7): the whole, unsplit bundle. */
export const STIX_BUNDLE_PUSH = `mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)
}`;

/**
 * Review before import, workbench mode (§6.2): the bundle becomes a pending file of the import workbench, sent
 * as a GraphQL multipart request (the `file` variable). pycti 7's document, verbatim.
 */
export const UPLOAD_PENDING = `mutation UploadPending($file: Upload!, $entityId: String, $file_markings: [String!]) {
  uploadPending(file: $file, entityId: $entityId, file_markings: $file_markings) {
    id
    name
  }
}`;

/** Review before import, draft mode (§6.2): the draft the bundles are then sent into. pycti 7's document. */
export const DRAFT_WORKSPACE_ADD = `mutation draftWorkspaceAdd($input: DraftWorkspaceAddInput!) {
  draftWorkspaceAdd(input: $input) {
    id
  }
}`;

/** Records on a work the draft its bundles went into (pycti's `work.add_draft_context`). */
export const WORK_ADD_DRAFT_CONTEXT = `mutation addDraftContext($id: ID!, $draftContext: String) {
  workEdit(id: $id) {
    addDraftContext(draftContext: $draftContext)
  }
}`;

/** A playbook step's answer (§6.5): resumes the playbook with the resulting bundle. */
export const PLAYBOOK_STEP_EXECUTION = `mutation PlaybookStepExecution(
  $execution_id: ID!
  $event_id: ID!
  $execution_start: DateTime!
  $data_instance_id: ID!
  $playbook_id: ID!
  $previous_step_id: ID!
  $step_id: ID!
  $previous_bundle: String!
  $bundle: String!
) {
  playbookStepExecution(
    execution_id: $execution_id
    event_id: $event_id
    execution_start: $execution_start
    data_instance_id: $data_instance_id
    playbook_id: $playbook_id
    previous_step_id: $previous_step_id
    step_id: $step_id
    previous_bundle: $previous_bundle
    bundle: $bundle
  )
}`;

/**
 * The entity an enrichment message is about, read by id (internal id or standard id) whatever its type.
 * Observables give their value twice on purpose: `observable_value` exists on every observable, while
 * `value` only on the types listed, whose `value` is the STIX `value` property itself. `representative`
 * is the platform's display name of any entity; `name` is read on the SDO types connectors enrich.
 * `objectOrganization` are the organisations the entity is shared with: what an enrichment sends back is
 * shared with them (pycti's export of the read turns them into `x_opencti_granted_refs`).
 * The stand-in platform (packages/testkit) answers this exact selection; keep both in step.
 */
export const READ_STIX_CORE_OBJECT = `query ReadStixCoreObject($id: String!) {
  stixCoreObject(id: $id) {
    id
    standard_id
    entity_type
    parent_types
    representative {
      main
    }
    objectMarking {
      id
      standard_id
      entity_type
      definition_type
      definition
      x_opencti_order
    }
    objectOrganization {
      id
      standard_id
      name
    }
    createdBy {
      id
      standard_id
      name
    }
    objectLabel {
      value
    }
    externalReferences {
      edges {
        node {
          source_name
          url
          external_id
        }
      }
    }
    ... on StixCyberObservable {
      observable_value
      x_opencti_description
      x_opencti_score
    }
    ... on IPv4Addr {
      value
    }
    ... on IPv6Addr {
      value
    }
    ... on DomainName {
      value
    }
    ... on Url {
      value
    }
    ... on EmailAddr {
      value
    }
    ... on Hostname {
      value
    }
    ... on Identity {
      name
    }
    ... on Indicator {
      name
      pattern
      pattern_type
    }
    ... on Malware {
      name
    }
    ... on Vulnerability {
      name
    }
    ... on Report {
      name
    }
    ... on IntrusionSet {
      name
    }
    ... on Campaign {
      name
    }
    ... on AttackPattern {
      name
    }
    ... on Tool {
      name
    }
  }
}`;
