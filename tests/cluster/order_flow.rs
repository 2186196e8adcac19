//! The order flow on the cluster, with the node everything connected to
//! first stopped mid-run.

use crate::ecommerce::faults::placed;
use crate::ecommerce::{Batch, Broker, Shop, assert_adds_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_flow_loses_nothing_while_its_node_is_stopped() {
    if !super::available() {
        return;
    }
    let vhost = super::vhost("shop-cluster").await;
    let mut shop = Shop::new("cluster", Broker::Shared(Box::new(vhost)), &[]);
    shop.start_all();
    let db = shop.db().await;
    let batch = Batch::under_faults();
    let load = shop.spawn_load(batch);
    // Every process lists node 1 first, so that is where they are.
    placed(&db, batch, 0.3).await;
    tokio::task::spawn_blocking(|| super::stop(1))
        .await
        .unwrap();
    placed(&db, batch, 0.6).await;
    tokio::task::spawn_blocking(|| super::start(1))
        .await
        .unwrap();
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, batch, &summary).await;
}
