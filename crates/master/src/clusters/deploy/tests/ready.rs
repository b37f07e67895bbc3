//! A node that is online before its procedures are: the reconciler looks again within
//! 200 ms instead of backing off (measured on real edge nodes: a rejoined node registers its
//! management API shortly after its session joins, and a new worker's after `start_worker`).

use super::*;

#[tokio::test(start_paused = true)]
async fn a_node_whose_api_is_not_registered_yet_is_served_as_soon_as_it_is() {
    let rig = Rig::new().await;
    rig.up(0, 1);
    let refusal = ("n2".to_owned(), "get_worker".to_owned());
    rig.edge()
        .refuse
        .insert(refusal.clone(), "wamp.error.no_such_procedure".into());
    rig.up(1, 2);
    let (wc, _) = web_setup(&rig);
    let d = rig.deployer();
    until(Duration::from_secs(3), "n1 served", || {
        rig.edge().workers("n1").len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(rig.edge().workers("n2").is_empty());
    assert!(
        d.web_workers(wc.oid)
            .iter()
            .any(|w| w.status == "starting" && w.last_error.is_none()),
        "not ready is not a failure: {:?}",
        d.web_workers(wc.oid)
    );
    rig.edge().refuse.remove(&refusal);
    // with the backoff (1 s, 2 s, 4 s, ...) the next try would come ~3.5 s later
    until(
        Duration::from_millis(500),
        "n2 served soon after its API is",
        || served(&rig, wc.oid),
    )
    .await;
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_running_cluster_is_degraded_while_a_member_is_offline_and_running_again_after() {
    let mut rig = Rig::new().await;
    rig.up(0, 1);
    rig.up(1, 2);
    let (wc, _) = web_setup(&rig);
    let d = rig.deployer();
    let key = rig.keys().wc(wc.oid);
    let status = |rig: &Rig| rig.get::<WebCluster>(&key).map(|w| w.status);
    until(Duration::from_secs(3), "running", || {
        status(&rig) == Some(Status::Running)
    })
    .await;
    assert_eq!(
        rig.event().await.0,
        "crossbarfabriccenter.mrealm.webcluster.on_webcluster_started"
    );
    rig.down(2);
    rig.edge().nodes.remove("n2"); // the node lost its workers
                                   // the node's shutdown transition wakes the reconciler at once
    until(Duration::from_secs(1), "degraded", || {
        status(&rig) == Some(Status::Degraded)
    })
    .await;
    let (topic, payload) = rig.event().await;
    assert_eq!(
        topic,
        "crossbarfabriccenter.mrealm.webcluster.on_webcluster_degraded"
    );
    assert_eq!(
        payload.get("status").and_then(Value::as_str),
        Some("DEGRADED")
    );
    rig.up(1, 3);
    until(
        Duration::from_secs(1),
        "running again on the node's return",
        || status(&rig) == Some(Status::Running) && served(&rig, wc.oid),
    )
    .await;
    assert_eq!(
        rig.event().await.0,
        "crossbarfabriccenter.mrealm.webcluster.on_webcluster_started"
    );
    d.stop().await;
}
