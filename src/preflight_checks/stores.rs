//! PF007 (Catalyst): the stores a region keeps its state in, read from the values the upgrade applies, listed for
//! the person to back up before the apply. Catalyst's upgrade guide: back up the workflow PostgreSQL, the Dapr
//! scheduler PostgreSQL if it runs separately, and the Kafka topics of managed pub/sub. The keys and their
//! defaults are the chart README's (`global.postgresql`, `agent.config.internal_dapr.scheduler`, `global.kafka`).

use super::Finding;
use crate::findings::Code;
use serde_json::Value as Json;

/// The stores in use, or nothing when the values turn every one off.
pub fn check(values: &Json) -> Option<Finding> {
    let mut stores = Vec::new();
    stores.extend(workflow_postgresql(values));
    stores.extend(scheduler_postgresql(values));
    stores.extend(kafka(values));
    if stores.is_empty() {
        return None;
    }
    Some(Finding::new(
        Code::PF007,
        format!(
            "back up the stores this region keeps its state in before you apply (Catalyst's upgrade guide; the \
             chart does not back them up): {}",
            stores.join("; ")
        ),
    ))
}

fn flag(value: &Json, default: bool) -> bool {
    value.as_bool().unwrap_or(default)
}

/// Where an external store is: its hosts, else the Secret that holds the connection.
fn place(config: &Json) -> String {
    let text = |key: &str| config[key].as_str().filter(|s| !s.is_empty());
    if let Some(host) = text("host") {
        let port = config["port"]
            .as_u64()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let database = text("database")
            .map(|d| format!("/{d}"))
            .unwrap_or_default();
        return format!("{host}{port}{database}");
    }
    if let Some(secret) = text("existing_secret_name") {
        let namespace = text("existing_secret_namespace").unwrap_or("the release namespace");
        return format!("the connection in Secret {secret} ({namespace})");
    }
    "(no connection given)".to_string()
}

fn workflow_postgresql(values: &Json) -> Option<String> {
    let pg = &values["global"]["postgresql"];
    if flag(&pg["disabled"], false) {
        return None;
    }
    Some(if flag(&pg["create"], true) {
        "workflow PostgreSQL: self-hosted by the chart in the cluster (global.postgresql.create)"
            .to_string()
    } else {
        format!(
            "workflow PostgreSQL: external, {} (global.postgresql.external)",
            place(&pg["external"])
        )
    })
}

fn scheduler_postgresql(values: &Json) -> Option<String> {
    let scheduler = &values["agent"]["config"]["internal_dapr"]["scheduler"];
    let backend = scheduler["backend_type"].as_str().unwrap_or("postgresql");
    let pg = &scheduler["postgresql"];
    if backend != "postgresql" || flag(&pg["use_global"], true) {
        return None;
    }
    let connections: Vec<String> = pg["connections"]
        .as_array()
        .map(|list| list.iter().map(place).collect())
        .unwrap_or_default();
    let shown = if connections.is_empty() {
        "(no connections given)".to_string()
    } else {
        connections.join(", ")
    };
    Some(format!(
        "Dapr scheduler PostgreSQL: separate, {shown} (agent.config.internal_dapr.scheduler.postgresql.connections)"
    ))
}

fn kafka(values: &Json) -> Option<String> {
    let kafka = &values["global"]["kafka"];
    if flag(&kafka["disabled"], true) {
        return None;
    }
    if flag(&kafka["create"], false) {
        return Some(
            "Kafka topics of managed pub/sub: self-hosted by the chart (global.kafka.create)"
                .into(),
        );
    }
    let brokers = match &kafka["external"]["brokers"] {
        Json::String(s) => s.clone(),
        Json::Array(list) => list
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => "(no brokers given)".into(),
    };
    Some(format!(
        "Kafka topics of managed pub/sub: external, brokers {brokers} (global.kafka.external)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_the_stores_the_values_use() {
        let defaults = check(&json!({})).unwrap();
        assert_eq!(defaults.code, Code::PF007);
        assert!(defaults.text.ends_with("workflow PostgreSQL: self-hosted by the chart in the cluster (global.postgresql.create)"), "{}", defaults.text);
        let external = json!({
            "global": {
                "postgresql": {"create": false, "external": {"existing_secret_name": "catalyst-postgres",
                    "existing_secret_namespace": "catalyst"}},
                "kafka": {"disabled": false, "create": false, "external": {"brokers": ["k1:9092", "k2:9092"]}}
            },
            "agent": {"config": {"internal_dapr": {"scheduler": {"postgresql": {"use_global": false,
                "connections": [{"host": "sched.example", "port": 5432, "database": "sched", "password": "hunter2"}]}}}}}
        });
        let text = check(&external).unwrap().text;
        assert!(text.contains("workflow PostgreSQL: external, the connection in Secret catalyst-postgres (catalyst)"), "{text}");
        assert!(
            text.contains("Dapr scheduler PostgreSQL: separate, sched.example:5432/sched"),
            "{text}"
        );
        assert!(
            text.contains("Kafka topics of managed pub/sub: external, brokers k1:9092,k2:9092"),
            "{text}"
        );
        assert!(!text.contains("hunter2"));
        let off = json!({"global": {"postgresql": {"disabled": true}},
            "agent": {"config": {"internal_dapr": {"scheduler": {"backend_type": "etcd"}}}}});
        assert_eq!(check(&off), None);
    }
}
