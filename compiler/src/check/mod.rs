//! The judges: what the pipeline's inputs and output are held to. The
//! Sovereign spec ([`sovereign`], [`regions`]), the bring-up inputs ([`infra`]),
//! the version pins ([`pins`]) and the releases they name ([`releases`]), every
//! emitted object against its schema ([`conform`]), the tree as Flux reconciles
//! it ([`reconcile`]), and the catalog's lint rules ([`lint`]).

pub mod conform;
pub mod infra;
pub mod lint;
pub mod pins;
pub mod reconcile;
pub mod regions;
pub mod releases;
pub mod sovereign;
pub mod upgrades;
