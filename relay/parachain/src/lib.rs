//! The parachain side of the BTP relay and its deploy tool: our ink! contracts on a pallet-contracts chain over
//! subxt's dynamic API (no generated runtime types to keep in step with the node).
//!
//! * [`Parachain`] connects (and reconnects) to a node, instantiates [`Bundle`]s (their code uploaded in the same
//!   call), dry-runs messages through `ContractsApi_call` for their gas and storage deposit, submits
//!   `Contracts::call` (several in one `Utility::batch_all`) and waits until the block is finalized, and hands back
//!   the [`Emitted`] events of the call.
//! * Messages are typed: a [`Message`] is built from the contract crate's own call builder (`ink-as-dependency`),
//!   so selectors and argument encodings come from the contract, never from strings, and the answer decodes as
//!   the type the bundle's ABI declares.
//! * Failures are classified in [`Error`]: the node unreachable or slow (retry), the runtime refusing the
//!   extrinsic (`Contracts::OutOfGas`, by its name in the chain's metadata), the contract answering with its own
//!   error (named by the message's label in the bundle and the error's variant), a transaction not included.

mod bundle;
mod runtime;

pub use bundle::Bundle;
pub use runtime::{contract_address, StorageDeposit, Weight};
use runtime::{BlockWeights, ValidationData};
pub use subxt::utils::AccountId32;
pub use subxt_signer::{sr25519::Keypair, SecretUri};

use btp_endpoint::Endpoints;
use ink::{
    codegen::ContractCallBuilder,
    env::{
        call::{
            utils::{ReturnType, Set, Unset},
            Call, ConstructorReturnType, CreateBuilder, ExecutionInput, FromAccountId, LimitParamsV2,
        },
        DefaultEnvironment, Event,
    },
};
use runtime::{CallRequest, Code, ContractResult, ExecReturnValue, InstantiateRequest, InstantiateReturnValue};
use scale::{Decode, Encode};
use std::{fmt::Debug, future::Future, marker::PhantomData, path::PathBuf, sync::Arc, time::Duration};
use subxt::{
    backend::{legacy::LegacyRpcMethods, rpc::RpcClient},
    config::DefaultExtrinsicParamsBuilder,
    dynamic::Value,
    error::DispatchError,
    tx::{DynamicPayload, TxPayload, TxStatus},
    utils::H256,
    OnlineClient, SubstrateConfig,
};
use tokio::sync::{Mutex, RwLock};

type Env = DefaultEnvironment;

/// A message call as the contract crate builds it (`calls::<Bmc>(&address).get_status(link)`).
pub type CallBuilder<Args, R> = ink::env::call::CallBuilder<Env, Set<Call<Env>>, Set<ExecutionInput<Args>>, Set<ReturnType<R>>>;

/// A constructor call as the contract crate builds it (`BmcRef::new(network)`).
pub type ConstructorBuilder<Ref, Args, R> = CreateBuilder<
    Env,
    Ref,
    Unset<ink::primitives::Hash>,
    Set<LimitParamsV2<Env>>,
    Unset<u128>,
    Set<ExecutionInput<Args>>,
    Unset<ink::env::call::state::Salt>,
    Set<ReturnType<R>>,
>;

/// How long one RPC request may take before the connection counts as lost.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a submitted extrinsic may take to be finalized.
const FINALITY_TIMEOUT: Duration = Duration::from_secs(120);
/// Reconnect attempts (with doubling pauses from 1 s) before a read gives up.
const RECONNECT_ATTEMPTS: u32 = 6;
/// Blocks an extrinsic stays valid for: long enough for a slow pool, short enough that a lost one expires.
const MORTALITY: u64 = 64;
/// Added to a dry run's gas: state can change between the dry run and the block.
pub const GAS_MARGIN_PERCENT: u64 = 20;

/// Reconnections this process made to parachain nodes, all connections together (for the relay's metrics).
static RECONNECTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times this process has reconnected to a parachain node.
pub fn reconnects() -> u64 {
    RECONNECTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Why something did not happen on the parachain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node did not answer at all (retry later).
    #[error("the node at {url} does not answer: {reason}")]
    Unreachable { url: String, reason: String },
    /// The connection failed during a request (retry).
    #[error("RPC failed: {0}")]
    Transport(String),
    /// A request got no answer in time (retry).
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The runtime refused the call: a pallet error by name (`Contracts::OutOfGas`) or another dispatch error.
    #[error("the runtime refused it: {0}")]
    Dispatch(String),
    /// The contract answered with its own error (it reverted: nothing it did stays).
    #[error("{contract}.{message} answered {error}")]
    Contract { contract: String, message: String, error: String },
    /// The extrinsic was submitted but its fate is not known (the connection failed or finality took too long):
    /// it may still be included, so read the chain before submitting it again.
    #[error("extrinsic {extrinsic:?} was submitted, its outcome is unknown: {reason}")]
    OutcomeUnknown { extrinsic: H256, reason: String },
    /// The pool refused the transaction or dropped it (a stale nonce, an expired mortality, too low a balance).
    #[error("the transaction was not included: {0}")]
    Transaction(String),
    /// The extrinsic was in a block that never became final and has left the pool (on a parachain: a block the
    /// relay chain's validators did not back, often because executing it took them too long). Nothing was paid;
    /// the same extrinsic would meet the same fate.
    #[error("extrinsic {extrinsic:?} was in block {block:?}, which was not finalized: {reason}")]
    NotFinalized { extrinsic: H256, block: H256, reason: String },
    /// A bundle could not be used.
    #[error("bundle {}: {reason}", path.display())]
    Bundle { path: PathBuf, reason: String },
    /// An answer that does not decode as what was asked for.
    #[error("cannot decode {what}: {reason}")]
    Decode { what: String, reason: String },
}

impl Error {
    /// The failure is the connection's, not the call's: the same call may succeed once the node answers.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Transport(_) | Self::Timeout(_))
    }
}

/// What one extrinsic may weigh on a chain ([`Parachain::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_extrinsic: Weight,
    /// A parachain's proof-of-validity limit (bytes), which bounds a block's proof size; `None` on a solo chain.
    pub max_pov_size: Option<u64>,
}

impl Limits {
    /// Why `weight` does not fit into one extrinsic, if it does not.
    pub fn exceeded_by(&self, weight: Weight) -> Option<String> {
        if weight.ref_time > self.max_extrinsic.ref_time {
            return Some(format!("ref_time {} is more than an extrinsic's {}", weight.ref_time, self.max_extrinsic.ref_time));
        }
        let max_proof = self.max_pov_size.map_or(self.max_extrinsic.proof_size, |pov| pov.min(self.max_extrinsic.proof_size));
        (weight.proof_size > max_proof).then(|| format!("proof size {} is more than an extrinsic's {max_proof}", weight.proof_size))
    }
}

fn decode_error(what: impl Into<String>, e: impl ToString) -> Error {
    Error::Decode { what: what.into(), reason: e.to_string() }
}

/// Maps subxt's errors onto ours: a runtime refusal keeps its pallet and error name.
fn classify(e: subxt::Error) -> Error {
    match e {
        subxt::Error::Runtime(DispatchError::Module(m)) => Error::Dispatch(m.details_string()),
        subxt::Error::Runtime(d) => Error::Dispatch(d.to_string()),
        subxt::Error::Transaction(t) => Error::Transaction(t.to_string()),
        // The pool's refusals (1010 Invalid Transaction, 1011, 1012) arrive as RPC errors.
        subxt::Error::Rpc(r) if r.to_string().contains("Invalid Transaction") || r.to_string().contains("Transaction is") => Error::Transaction(r.to_string()),
        subxt::Error::Rpc(r) => Error::Transport(r.to_string()),
        subxt::Error::Io(e) => Error::Transport(e.to_string()),
        other => Error::Decode { what: "the node's answer".into(), reason: other.to_string() },
    }
}

async fn timed<T>(limit: Duration, f: impl Future<Output = Result<T, subxt::Error>>) -> Result<T, Error> {
    tokio::time::timeout(limit, f).await.map_err(|_| Error::Timeout(limit))?.map_err(classify)
}

/// The call builders of contract `C` at `contract`: `calls::<Bmc>(&bmc).add_link(link)`.
pub fn calls<C>(contract: &AccountId32) -> <C as ContractCallBuilder>::Type
where
    C: ContractCallBuilder,
    <C as ContractCallBuilder>::Type: FromAccountId<Env>,
{
    FromAccountId::from_account_id(ink::primitives::AccountId::from(contract.0))
}

/// A message to a contract, typed by what the message returns.
pub struct Message<R> {
    pub contract: AccountId32,
    /// Selector and SCALE arguments.
    pub input: Vec<u8>,
    returns: PhantomData<fn() -> R>,
}

impl<R> Message<R> {
    /// The message `call` builds.
    pub fn new<Args: Encode>(call: CallBuilder<Args, R>) -> Self {
        let params = call.params();
        Self { contract: AccountId32(*params.callee().as_ref()), input: params.exec_input().encode(), returns: PhantomData }
    }
}

/// A constructor's SCALE input, and the error type its `Result` carries.
pub struct Constructor<E> {
    pub input: Vec<u8>,
    error: PhantomData<fn() -> E>,
}

impl<E> Constructor<E> {
    /// The constructor call `create` builds (`BmcRef::new(network)`).
    pub fn new<Ref, Args: Encode, R>(create: ConstructorBuilder<Ref, Args, R>) -> Self
    where
        R: ConstructorReturnType<Ref, Error = E>,
    {
        let input = create.endowment(0).code_hash(Default::default()).salt_bytes(Vec::<u8>::new()).params().exec_input().encode();
        Self { input, error: PhantomData }
    }
}

/// A dry run's verdict on a message: what it would return and cost.
#[derive(Debug)]
pub struct DryRun<R> {
    /// The message's return value (for a `Result` message, `Ok` here means it would not revert).
    pub value: R,
    pub gas_required: Weight,
    pub storage_deposit: StorageDeposit,
}

/// A call dry-run and ready to be submitted, alone or with others in one extrinsic ([`Parachain::submit_all`]).
pub struct Prepared {
    payload: DynamicPayload,
    /// The gas it is given: its dry run's plus [`GAS_MARGIN_PERCENT`].
    pub weight: Weight,
}

impl Prepared {
    /// `Contracts::call` of `message` with the gas of its dry run `dry` plus [`GAS_MARGIN_PERCENT`] and the dry
    /// run's storage deposit as the limit.
    fn call<R>(message: &Message<R>, dry: &DryRun<R>) -> Self {
        let weight = dry.gas_required.with_margin(GAS_MARGIN_PERCENT);
        let payload = subxt::dynamic::tx(
            "Contracts",
            "call",
            vec![
                Value::unnamed_variant("Id", [Value::from_bytes(message.contract.0)]),
                Value::u128(0),
                weight_value(weight),
                Value::unnamed_variant("Some", [Value::u128(dry.storage_deposit.limit())]),
                Value::from_bytes(&message.input),
            ],
        );
        Self { payload, weight }
    }
}

/// `Utility::batch_all(calls)`: each call's data is what it would be as an extrinsic of its own, which is the SCALE
/// form of the runtime's call enum the batch takes.
struct BatchAll(Vec<DynamicPayload>);

impl TxPayload for BatchAll {
    fn encode_call_data_to(&self, metadata: &subxt::Metadata, out: &mut Vec<u8>) -> Result<(), subxt::Error> {
        let utility = metadata.pallet_by_name_err("Utility")?;
        let batch_all = utility.call_variant_by_name("batch_all").ok_or_else(|| subxt::error::MetadataError::CallNameNotFound("batch_all".into()))?;
        out.push(utility.index());
        out.push(batch_all.index);
        let count = u32::try_from(self.0.len()).map_err(|_| subxt::Error::Other("too many calls for one batch".into()))?;
        scale::Compact(count).encode_to(out);
        self.0.iter().try_for_each(|call| call.encode_call_data_to(metadata, out))
    }
}

/// An extrinsic finalized: where, and the events of our contracts it caused.
#[derive(Debug, Clone)]
pub struct Included {
    pub block: H256,
    pub extrinsic: H256,
    pub emitted: Vec<Emitted>,
}

/// A `Contracts::ContractEmitted` event: ink! 5 puts the event signature's hash first among the topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub contract: AccountId32,
    pub topics: Vec<[u8; 32]>,
    pub data: Vec<u8>,
    /// The index in its block of the extrinsic that caused it (`None`: the block's initialization or finalization).
    pub extrinsic: Option<u32>,
}

impl Emitted {
    /// The event as `E`, if it is one (by its signature topic) and decodes.
    pub fn decode<E: Event + Decode>(&self) -> Option<E> {
        let signature = E::SIGNATURE_TOPIC?;
        if self.topics.first() != Some(&signature) {
            return None;
        }
        E::decode(&mut self.data.as_slice()).ok()
    }
}

/// An account that signs extrinsics, with its own nonce counter: subxt would read the nonce at the finalized
/// block, which refuses a second transaction sent within the finalization delay.
pub struct Signer {
    keypair: Keypair,
    nonce: Mutex<Option<u64>>,
}

impl Signer {
    pub fn new(keypair: Keypair) -> Self {
        Self { keypair, nonce: Mutex::new(None) }
    }

    /// A signer from a secret URI (`//Alice`, a mnemonic with `//derivation///password`).
    pub fn from_uri(uri: &str) -> Result<Self, String> {
        let uri: SecretUri = uri.parse().map_err(|e| format!("not a secret URI: {e}"))?;
        Keypair::from_uri(&uri).map(Self::new).map_err(|e| format!("no key from that secret URI: {e}"))
    }

    pub fn account(&self) -> AccountId32 {
        AccountId32(self.keypair.public_key().0)
    }
}

#[derive(Clone)]
struct Connection {
    client: OnlineClient<SubstrateConfig>,
    rpc: LegacyRpcMethods<SubstrateConfig>,
}

impl Connection {
    async fn open(url: &str) -> Result<Self, Error> {
        // subxt's errors may name the URL, secrets and all.
        let unreachable = |e: subxt::Error| Error::Unreachable { url: btp_endpoint::redact(url), reason: btp_endpoint::redact_in(&e.to_string(), url) };
        let rpc = tokio::time::timeout(REQUEST_TIMEOUT, RpcClient::from_url(url)).await.map_err(|_| Error::Timeout(REQUEST_TIMEOUT))?.map_err(unreachable)?;
        let client = tokio::time::timeout(REQUEST_TIMEOUT, OnlineClient::from_rpc_client(rpc.clone()))
            .await
            .map_err(|_| Error::Timeout(REQUEST_TIMEOUT))?
            .map_err(unreachable)?;
        Ok(Self { client, rpc: LegacyRpcMethods::new(rpc) })
    }
}

/// A parachain node, or several nodes of one chain, reconnected to when the connection fails: to the endpoint
/// [`Endpoints::preferred`] names, so that a failing node is left for the next and an earlier one taken back once
/// it answers and keeps up again.
pub struct Parachain {
    endpoints: Arc<Endpoints>,
    /// The endpoint connected to.
    active: std::sync::atomic::AtomicUsize,
    connection: RwLock<Connection>,
}

impl Parachain {
    /// Connects to the node's WebSocket RPC at `url`.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_to(Arc::new(Endpoints::single(url))).await
    }

    /// Connects to the first of `endpoints` that answers, in their order of preference.
    pub async fn connect_to(endpoints: Arc<Endpoints>) -> Result<Self, Error> {
        let (active, connection) = Self::open_preferred(&endpoints).await?;
        Ok(Self { endpoints, active: active.into(), connection: RwLock::new(connection) })
    }

    /// Waits until everything `signer` submitted is final or gone from the pool: its nonce in the finalized state
    /// reaches the next one the node gives it.
    pub async fn wait_until_final(&self, signer: &Signer, within: Duration) -> Result<(), Error> {
        let next = match *signer.nonce.lock().await {
            Some(n) => n,
            None => self.account_nonce(&signer.account()).await?,
        };
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let head = self.read(|c| async move { timed(REQUEST_TIMEOUT, c.rpc.chain_get_finalized_head()).await }).await?;
            if self.nonce_at(&signer.account(), Some(head)).await? >= next {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Timeout(within));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    async fn open_preferred(endpoints: &Endpoints) -> Result<(usize, Connection), Error> {
        let mut last = None;
        for _ in 0..endpoints.len() {
            let i = endpoints.preferred();
            match Connection::open(endpoints.url(i)).await {
                Ok(connection) => {
                    endpoints.answered(i, None);
                    return Ok((i, connection));
                }
                Err(e) => {
                    endpoints.failed(i);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Transport("no endpoint".into())))
    }

    /// The endpoints, shared with what probes them.
    pub fn endpoints(&self) -> &Arc<Endpoints> {
        &self.endpoints
    }

    /// Replaces the connection with a new one, to the preferred endpoint: subxt's client never recovers from a
    /// node restart.
    pub async fn reconnect(&self) -> Result<(), Error> {
        RECONNECTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (active, fresh) = Self::open_preferred(&self.endpoints).await?;
        *self.connection.write().await = fresh;
        self.active.store(active, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn active(&self) -> usize {
        self.active.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The connection, to the preferred endpoint: when the probes prefer another than the one connected to (an
    /// earlier one answers again, this one fell behind), it is taken now.
    async fn connection(&self) -> Connection {
        let preferred = self.endpoints.preferred();
        if preferred != self.active() {
            tracing::info!(from = %self.endpoints.shown(self.active()), to = %self.endpoints.shown(preferred), "switching parachain endpoint");
            if let Err(e) = self.reconnect().await {
                tracing::warn!(error = %e, "switching parachain endpoint failed");
            }
        }
        self.connection.read().await.clone()
    }

    /// The finalized head of the node at `url`, on a connection of its own: what the endpoints' prober asks.
    pub async fn head_of(url: &str) -> Result<u64, Error> {
        let rpc = tokio::time::timeout(REQUEST_TIMEOUT, RpcClient::from_url(url))
            .await
            .map_err(|_| Error::Timeout(REQUEST_TIMEOUT))?
            .map_err(|e| Error::Unreachable { url: btp_endpoint::redact(url), reason: btp_endpoint::redact_in(&e.to_string(), url) })?;
        let rpc = LegacyRpcMethods::<SubstrateConfig>::new(rpc);
        let head = timed(REQUEST_TIMEOUT, rpc.chain_get_finalized_head()).await?;
        let header = timed(REQUEST_TIMEOUT, rpc.chain_get_header(Some(head))).await?.ok_or_else(|| decode_error("the finalized header", "missing"))?;
        Ok(u64::from(header.number))
    }

    /// Runs a read, reconnecting and retrying (pauses doubling from 1 s) while the failure is the connection's.
    async fn read<T, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut pause = Duration::from_secs(1);
        for attempt in 1.. {
            match op(self.connection().await).await {
                Err(e) if e.is_transport() && attempt < RECONNECT_ATTEMPTS => {
                    let failed = self.active();
                    tracing::warn!(url = %self.endpoints.shown(failed), error = %e, "parachain RPC failed; reconnecting");
                    self.endpoints.failed(failed);
                    // With another endpoint to go to, no pause: it has not failed.
                    if self.endpoints.preferred() == failed {
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                    if let Err(e) = self.reconnect().await {
                        tracing::warn!(error = %e, "reconnect failed");
                    }
                }
                other => return other,
            }
        }
        unreachable!("the loop returns by its last attempt")
    }

    /// The number of the last finalized block.
    pub async fn finalized_height(&self) -> Result<u64, Error> {
        self.read(|c| async move { Ok(u64::from(timed(REQUEST_TIMEOUT, c.client.blocks().at_latest()).await?.number())) }).await
    }

    /// The number of the best block (sealed, maybe not final yet).
    pub async fn best_height(&self) -> Result<u64, Error> {
        self.read(|c| async move {
            let header = timed(REQUEST_TIMEOUT, c.rpc.chain_get_header(None)).await?;
            header.map(|h| u64::from(h.number)).ok_or_else(|| Error::Decode { what: "the best header".into(), reason: "none".into() })
        })
        .await
    }

    /// What one extrinsic may weigh on this chain: the normal class's `max_extrinsic` of `System::BlockWeights`
    /// (else its block maximum) and, on a parachain, the relay chain's `max_pov_size` as the last block's
    /// validation data gives it.
    pub async fn limits(&self) -> Result<Limits, Error> {
        self.read(|c| async move {
            let weights = c.client.constants().at(&subxt::dynamic::constant("System", "BlockWeights")).map_err(|e| decode_error("System.BlockWeights", e))?;
            let weights = BlockWeights::decode(&mut weights.encoded()).map_err(|e| decode_error("System.BlockWeights", e))?;
            let normal = weights.per_class[0];
            let max_extrinsic = normal.max_extrinsic.or(normal.max_total).unwrap_or(weights.max_block);
            // A solo chain (the dev node) has no parachain system pallet.
            let max_pov_size = if c.client.metadata().pallet_by_name("ParachainSystem").is_some() {
                let address = subxt::dynamic::storage("ParachainSystem", "ValidationData", Vec::<Value>::new());
                let storage = timed(REQUEST_TIMEOUT, c.client.storage().at_latest()).await?;
                match timed(REQUEST_TIMEOUT, storage.fetch(&address)).await? {
                    Some(v) => {
                        Some(ValidationData::decode(&mut v.encoded()).map_err(|e| decode_error("ParachainSystem.ValidationData", e))?.max_pov_size.into())
                    }
                    None => None,
                }
            } else {
                None
            };
            Ok(Limits { max_extrinsic, max_pov_size })
        })
        .await
    }

    /// The free balance of `account` at the last finalized block (0 for an account the chain does not hold).
    pub async fn free_balance(&self, account: &AccountId32) -> Result<u128, Error> {
        use subxt::ext::scale_value::At;
        self.read(|c| async move {
            let address = subxt::dynamic::storage("System", "Account", vec![Value::from_bytes(account.0)]);
            let storage = timed(REQUEST_TIMEOUT, c.client.storage().at_latest()).await?;
            let Some(info) = timed(REQUEST_TIMEOUT, storage.fetch(&address)).await? else { return Ok(0) };
            let info = info.to_value().map_err(|e| decode_error("System.Account", e))?;
            info.at("data").at("free").and_then(|v| v.as_u128()).ok_or_else(|| decode_error("System.Account", "no data.free"))
        })
        .await
    }

    /// The next nonce of `account`, counting the transactions in the pool.
    pub async fn account_nonce(&self, account: &AccountId32) -> Result<u64, Error> {
        self.read(|c| async move { timed(REQUEST_TIMEOUT, c.rpc.system_account_next_index(account)).await }).await
    }

    /// `account`'s transactions still in the pool: its next nonce counting the pool, less its nonce at the best
    /// block. One in a best block that is not final yet is not counted: the state read at the best block shows it
    /// (and a dev node that seals on demand finalizes nothing more until a new transaction comes).
    pub async fn pending_transactions(&self, account: &AccountId32) -> Result<u64, Error> {
        let pool = self.account_nonce(account).await?;
        let best = self.nonce_at(account, None).await?;
        Ok(pool.saturating_sub(best))
    }

    /// `account`'s nonce in the state after block `at` (the best block when `None`), the pool not counted.
    async fn nonce_at(&self, account: &AccountId32, at: Option<H256>) -> Result<u64, Error> {
        let answer = self.state_call_at("AccountNonceApi_account_nonce", account.0.encode(), at).await?;
        // The runtime's nonce type: u32 on the Substrate node templates, u64 on some chains.
        match answer.len() {
            4 => u32::decode(&mut answer.as_slice()).map(u64::from),
            _ => u64::decode(&mut answer.as_slice()),
        }
        .map_err(|e| decode_error("AccountNonceApi_account_nonce's answer", e))
    }

    /// A storage value of pallet-contracts at the best block, SCALE-encoded.
    async fn contracts_storage(&self, item: &str, key: &[u8; 32]) -> Result<Option<Vec<u8>>, Error> {
        self.read(|c| async move {
            let address = subxt::dynamic::storage("Contracts", item, vec![Value::from_bytes(key)]);
            let storage = timed(REQUEST_TIMEOUT, c.client.storage().at_latest()).await?;
            Ok(timed(REQUEST_TIMEOUT, storage.fetch(&address)).await?.map(|v| v.into_encoded()))
        })
        .await
    }

    /// Whether code with this hash is on chain.
    pub async fn code_exists(&self, code_hash: &[u8; 32]) -> Result<bool, Error> {
        Ok(self.contracts_storage("CodeInfoOf", code_hash).await?.is_some())
    }

    /// The code hash of the contract at `contract`, or `None` when no contract is there.
    pub async fn contract_code_hash(&self, contract: &AccountId32) -> Result<Option<[u8; 32]>, Error> {
        let Some(info) = self.contracts_storage("ContractInfoOf", &contract.0).await? else { return Ok(None) };
        // ContractInfo begins with the trie id (a byte vector), then the code hash.
        let input = &mut info.as_slice();
        Vec::<u8>::decode(input).and_then(|_| <[u8; 32]>::decode(input)).map(Some).map_err(|e| decode_error("a contract's info", e))
    }

    async fn state_call(&self, function: &'static str, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        self.state_call_at(function, args, None).await
    }

    /// A runtime API call on the state after block `at` (the best block when `None`).
    async fn state_call_at(&self, function: &'static str, args: Vec<u8>, at: Option<H256>) -> Result<Vec<u8>, Error> {
        self.read(|c| {
            let args = args.clone();
            async move { timed(REQUEST_TIMEOUT, c.rpc.state_call(function, Some(&args), at)).await }
        })
        .await
    }

    /// The hash of block `height` of the best chain, if the node has it.
    pub async fn block_hash(&self, height: u64) -> Result<Option<H256>, Error> {
        let number = u32::try_from(height).map_err(|_| decode_error("a block number", format!("{height} is beyond u32")))?;
        self.read(|c| async move { timed(REQUEST_TIMEOUT, c.rpc.chain_get_block_hash(Some(number.into()))).await }).await
    }

    /// Names the runtime's undecoded `DispatchError` with the chain's metadata.
    async fn dispatch_error(&self, bytes: &[u8]) -> Error {
        let metadata = self.connection().await.client.metadata();
        match DispatchError::decode_from(bytes.to_vec(), metadata) {
            Ok(DispatchError::Module(m)) => Error::Dispatch(m.details_string()),
            Ok(other) => Error::Dispatch(other.to_string()),
            Err(e) => decode_error("a dispatch error", e),
        }
    }

    /// Dry-runs `message` as `origin` through `ContractsApi_call`. A message that returns `Err` (it would revert)
    /// is [`Error::Contract`] with the error decoded and the message named from `bundle`.
    pub async fn dry_run<R: Decode + Debug>(&self, origin: &AccountId32, bundle: &Bundle, message: &Message<R>) -> Result<DryRun<R>, Error> {
        self.dry_run_at(None, origin, bundle, message).await
    }

    async fn dry_run_at<R: Decode + Debug>(&self, at: Option<H256>, origin: &AccountId32, bundle: &Bundle, message: &Message<R>) -> Result<DryRun<R>, Error> {
        let label = bundle.message_label(&message.input).unwrap_or("(a message not in the bundle)").to_string();
        let request = CallRequest {
            origin: origin.0,
            dest: message.contract.0,
            value: 0,
            gas_limit: None,
            storage_deposit_limit: None,
            input_data: message.input.clone(),
        };
        let answer = self.state_call_at("ContractsApi_call", request.encode(), at).await?;
        let result = ContractResult::<ExecReturnValue>::decode(&answer).map_err(|e| decode_error("ContractsApi_call's answer", e))?;
        let returned = match result.result {
            Ok(r) => r,
            Err(e) => return Err(self.dispatch_error(&e).await),
        };
        let what = || format!("the answer of {}.{label}", bundle.name);
        let value = match Result::<R, ink::LangError>::decode(&mut returned.data.as_slice()).map_err(|e| decode_error(what(), e))? {
            Ok(value) => value,
            Err(lang) => return Err(Error::Contract { contract: bundle.name.clone(), message: label, error: format!("{lang:?}") }),
        };
        if returned.reverted() {
            return Err(Error::Contract { contract: bundle.name.clone(), message: label, error: format!("{value:?}") });
        }
        Ok(DryRun { value, gas_required: result.gas_required, storage_deposit: result.storage_deposit })
    }

    /// Reads a message's answer (a dry run from `origin`; nothing is submitted).
    pub async fn query<R: Decode + Debug>(&self, origin: &AccountId32, bundle: &Bundle, message: &Message<R>) -> Result<R, Error> {
        Ok(self.dry_run(origin, bundle, message).await?.value)
    }

    /// Reads a message's answer on the state after block `height` (a node prunes old state: 256 blocks by
    /// default, all of them with `--state-pruning archive`).
    pub async fn query_at<R: Decode + Debug>(&self, height: u64, origin: &AccountId32, bundle: &Bundle, message: &Message<R>) -> Result<R, Error> {
        let at = self.block_hash(height).await?.ok_or_else(|| decode_error("a block hash", format!("no block {height}")))?;
        Ok(self.dry_run_at(Some(at), origin, bundle, message).await?.value)
    }

    /// Calls `message`: dry run, then [`Parachain::submit_call`].
    pub async fn call<R: Decode + Debug>(&self, signer: &Signer, bundle: &Bundle, message: &Message<R>) -> Result<(R, Included), Error> {
        let dry = self.dry_run(&signer.account(), bundle, message).await?;
        let included = self.submit_call(signer, message, &dry).await?;
        Ok((dry.value, included))
    }

    /// Submits `message` as `Contracts::call` with the gas of its dry run `dry` plus [`GAS_MARGIN_PERCENT`] and the
    /// dry run's storage deposit as the limit, waiting until the block is finalized.
    pub async fn submit_call<R>(&self, signer: &Signer, message: &Message<R>, dry: &DryRun<R>) -> Result<Included, Error> {
        self.submit(signer, &Prepared::call(message, dry).payload).await
    }

    /// Dry-runs `message` as `origin`: the call ready for [`Parachain::submit_all`], with what it would return.
    pub async fn prepare_call<R: Decode + Debug>(&self, origin: &AccountId32, bundle: &Bundle, message: &Message<R>) -> Result<(R, Prepared), Error> {
        let dry = self.dry_run(origin, bundle, message).await?;
        let prepared = Prepared::call(message, &dry);
        Ok((dry.value, prepared))
    }

    /// Dry-runs instantiating `bundle` as `origin` with `constructor`'s input and `salt`, the code uploaded in the
    /// same call when the chain lacks it: the new contract's address and the call, ready for
    /// [`Parachain::submit_all`]. A constructor that fails is [`Error::Contract`].
    pub async fn prepare_instantiate<E: Decode + Debug>(
        &self,
        origin: &AccountId32,
        bundle: &Bundle,
        constructor: &Constructor<E>,
        salt: &[u8],
    ) -> Result<(AccountId32, Prepared), Error> {
        let upload = !self.code_exists(&bundle.code_hash).await?;
        let request = InstantiateRequest {
            origin: origin.0,
            value: 0,
            gas_limit: None,
            storage_deposit_limit: None,
            code: if upload { Code::Upload(bundle.wasm.clone()) } else { Code::Existing(bundle.code_hash) },
            data: constructor.input.clone(),
            salt: salt.to_vec(),
        };
        let answer = self.state_call("ContractsApi_instantiate", request.encode()).await?;
        let result = ContractResult::<InstantiateReturnValue>::decode(&answer).map_err(|e| decode_error("ContractsApi_instantiate's answer", e))?;
        let returned = match result.result {
            Ok(r) => r,
            Err(e) => return Err(self.dispatch_error(&e).await),
        };
        if returned.result.reverted() {
            let error = match Result::<Result<(), E>, ink::LangError>::decode(&mut returned.result.data.as_slice()) {
                Ok(decoded) => format!("{decoded:?}"),
                Err(_) => format!("0x{}", hex::encode(&returned.result.data)),
            };
            return Err(Error::Contract { contract: bundle.name.clone(), message: "new".into(), error });
        }
        let address = AccountId32(returned.account_id);
        let expected = contract_address(&origin.0, &bundle.code_hash, &constructor.input, salt);
        if address.0 != expected {
            return Err(decode_error(
                "the new contract's address",
                format!("the node puts it at {address}, not at 0x{} (the address rule)", hex::encode(expected)),
            ));
        }
        let weight = result.gas_required.with_margin(GAS_MARGIN_PERCENT);
        let (call, code) = match upload {
            true => ("instantiate_with_code", Value::from_bytes(&bundle.wasm)),
            false => ("instantiate", Value::from_bytes(bundle.code_hash)),
        };
        let payload = subxt::dynamic::tx(
            "Contracts",
            call,
            vec![
                Value::u128(0),
                weight_value(weight),
                Value::unnamed_variant("Some", [Value::u128(result.storage_deposit.limit())]),
                code,
                Value::from_bytes(&constructor.input),
                Value::from_bytes(salt),
            ],
        );
        Ok((address, Prepared { payload, weight }))
    }

    /// Whether the chain can take several calls in one extrinsic (`Utility::batch_all`).
    pub async fn batches(&self) -> bool {
        let metadata = self.connection().await.client.metadata();
        metadata.pallet_by_name("Utility").and_then(|p| p.call_variant_by_name("batch_all")).is_some()
    }

    /// Submits `calls` in one extrinsic, waiting until its block is finalized: a single call as it is, several as
    /// `Utility::batch_all`, where either all of them take effect or none ([`Parachain::batches`] says whether
    /// the chain can). Errors as [`Parachain::submit_call`]'s.
    pub async fn submit_all(&self, signer: &Signer, mut calls: Vec<Prepared>) -> Result<Included, Error> {
        match calls.len() {
            0 => Err(Error::Transaction("no calls to submit".into())),
            1 => self.submit(signer, &calls.remove(0).payload).await,
            _ => self.submit(signer, &BatchAll(calls.into_iter().map(|c| c.payload).collect())).await,
        }
    }

    /// Signs `call` with the signer's next nonce (mortal for [`MORTALITY`] blocks from the finalized head),
    /// submits it and waits until its block is finalized and it succeeded.
    async fn submit(&self, signer: &Signer, call: &impl TxPayload) -> Result<Included, Error> {
        let mut nonce = signer.nonce.lock().await;
        let next = match *nonce {
            Some(n) => n,
            None => self.account_nonce(&signer.account()).await?,
        };
        let result = self.sign_and_watch(signer, call, next).await;
        // After a failure the pool may or may not hold the transaction: ask the node next time.
        *nonce = result.as_ref().ok().map(|_| next + 1);
        result
    }

    async fn sign_and_watch(&self, signer: &Signer, call: &impl TxPayload, nonce: u64) -> Result<Included, Error> {
        let c = self.connection().await;
        let head = timed(REQUEST_TIMEOUT, c.rpc.chain_get_finalized_head()).await?;
        let header = timed(REQUEST_TIMEOUT, c.rpc.chain_get_header(Some(head))).await?.ok_or_else(|| decode_error("the finalized header", "missing"))?;
        let params = DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new().nonce(nonce).mortal(&header, MORTALITY).build();
        let signed = c.client.tx().create_signed_offline(call, &signer.keypair, params).map_err(classify)?;
        let extrinsic = signed.hash();
        // From here the extrinsic is in the transport's hands: the node may have taken it even when no answer came,
        // so anything but the pool's own refusal leaves it in doubt (sending it again would pay twice).
        let in_doubt = |e: Error| match e {
            e @ Error::Transaction(_) => e,
            e => Error::OutcomeUnknown { extrinsic, reason: e.to_string() },
        };
        let mut progress = timed(REQUEST_TIMEOUT, signed.submit_and_watch()).await.map_err(in_doubt)?;
        let deadline = tokio::time::Instant::now() + FINALITY_TIMEOUT;
        // The last block it was in. Once in one, a watch that ends without finality means the block was abandoned
        // (on a parachain: never backed by the relay chain) and the pool let the extrinsic go.
        let mut in_block = None;
        loop {
            let status = match tokio::time::timeout_at(deadline, progress.next()).await {
                Err(_) => return Err(Error::OutcomeUnknown { extrinsic, reason: format!("not final within {FINALITY_TIMEOUT:?}") }),
                Ok(None) => return Err(Error::OutcomeUnknown { extrinsic, reason: "the node ended the watch".into() }),
                Ok(Some(status)) => status.map_err(|e| in_doubt(classify(e)))?,
            };
            match status {
                TxStatus::InBestBlock(b) => in_block = Some(b.block_hash()),
                TxStatus::NoLongerInBestBlock => tracing::warn!(?extrinsic, block = ?in_block, "its block left the best chain; the pool holds it again"),
                TxStatus::InFinalizedBlock(b) => return self.included(extrinsic, &b).await,
                TxStatus::Error { message } | TxStatus::Invalid { message } | TxStatus::Dropped { message } => {
                    return Err(match in_block {
                        Some(block) => Error::NotFinalized { extrinsic, block, reason: message },
                        None => Error::Transaction(message),
                    })
                }
                TxStatus::Validated | TxStatus::Broadcasted { .. } => {}
            }
        }
    }

    /// The extrinsic's outcome in block `b`: its events if it succeeded.
    async fn included(&self, extrinsic: H256, b: &subxt::tx::TxInBlock<SubstrateConfig, OnlineClient<SubstrateConfig>>) -> Result<Included, Error> {
        let events = timed(REQUEST_TIMEOUT, b.wait_for_success()).await.map_err(|e| match e {
            e if e.is_transport() => Error::OutcomeUnknown { extrinsic, reason: e.to_string() },
            e => e,
        })?;
        Ok(Included { block: events.block_hash(), extrinsic, emitted: contract_events(events.iter())? })
    }

    /// The hash of extrinsic `index` of block `height` (what a block explorer names it by).
    pub async fn extrinsic_hash(&self, height: u64, index: u32) -> Result<Option<H256>, Error> {
        use subxt::config::Hasher;
        let Some(hash) = self.block_hash(height).await? else { return Ok(None) };
        self.read(|c| async move {
            let block = timed(REQUEST_TIMEOUT, c.client.blocks().at(hash)).await?;
            let extrinsics = timed(REQUEST_TIMEOUT, block.extrinsics()).await?;
            for extrinsic in extrinsics.iter() {
                let extrinsic = extrinsic.map_err(classify)?;
                if extrinsic.index() == index {
                    return Ok(Some(subxt::config::substrate::BlakeTwo256::hash(extrinsic.bytes())));
                }
            }
            Ok(None)
        })
        .await
    }

    /// The contract events of finalized block `height`, in order.
    pub async fn emitted_at(&self, height: u64) -> Result<Vec<Emitted>, Error> {
        let hash = self.block_hash(height).await?.ok_or_else(|| decode_error(format!("block {height}"), "the node has no such block"))?;
        self.read(|c| async move {
            let events = timed(REQUEST_TIMEOUT, c.client.events().at(hash)).await?;
            contract_events(events.iter())
        })
        .await
    }
}

/// The `Contracts::ContractEmitted` events among `events`.
fn contract_events(events: impl Iterator<Item = Result<subxt::events::EventDetails<SubstrateConfig>, subxt::Error>>) -> Result<Vec<Emitted>, Error> {
    let mut emitted = Vec::new();
    for event in events {
        let event = event.map_err(|e| decode_error("an event", e))?;
        if (event.pallet_name(), event.variant_name()) == ("Contracts", "ContractEmitted") {
            let fields = &mut event.field_bytes();
            let (contract, data) = <([u8; 32], Vec<u8>)>::decode(fields).map_err(|e| decode_error("ContractEmitted", e))?;
            let topics = event.topics().iter().map(|t| t.0).collect();
            let extrinsic = match event.phase() {
                subxt::events::Phase::ApplyExtrinsic(i) => Some(i),
                _ => None,
            };
            emitted.push(Emitted { contract: AccountId32(contract), topics, data, extrinsic });
        }
    }
    Ok(emitted)
}

fn weight_value(w: Weight) -> Value {
    Value::named_composite([("ref_time", Value::u128(w.ref_time.into())), ("proof_size", Value::u128(w.proof_size.into()))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rpc_url_secrets_are_redacted() {
        // Nothing listens on port 1: the connection fails, and the error names the node.
        let Err(e) = Parachain::connect("ws://relay:pa55@127.0.0.1:1/?apikey=S3CRET").await else { panic!("nothing listens there") };
        let shown = e.to_string();
        assert!(shown.contains("127.0.0.1:1") && !shown.contains("pa55") && !shown.contains("S3CRET"), "{shown}");
    }

    #[test]
    fn an_extrinsic_fits_within_the_chains_limits_and_the_pov() {
        let max_extrinsic = Weight { ref_time: 1_000, proof_size: 500 };
        let solo = Limits { max_extrinsic, max_pov_size: None };
        assert_eq!(solo.exceeded_by(Weight { ref_time: 1_000, proof_size: 500 }), None, "at the limit fits");
        assert!(solo.exceeded_by(Weight { ref_time: 1_001, proof_size: 1 }).is_some_and(|why| why.contains("ref_time 1001")));
        assert!(solo.exceeded_by(Weight { ref_time: 1, proof_size: 501 }).is_some());
        // On a parachain the proof of validity may bind first.
        let para = Limits { max_extrinsic, max_pov_size: Some(300) };
        assert!(para.exceeded_by(Weight { ref_time: 1, proof_size: 301 }).is_some_and(|why| why.contains("300")));
        assert_eq!(para.exceeded_by(Weight { ref_time: 1, proof_size: 300 }), None);
    }

    #[test]
    fn block_weights_decode_as_frame_system_encodes_them() {
        // frame-system's BlockWeights: base_block, max_block, then normal, operational and mandatory, each
        // base_extrinsic, max_extrinsic, max_total, reserved; weights are two compact integers.
        let w = |r: u64, p: u64| Weight { ref_time: r, proof_size: p };
        let mut bytes = (w(5, 0), w(2_000, 5_000)).encode();
        (w(1, 0), Some(w(1_400, 3_600)), Some(w(1_500, 3_750)), Some(w(0, 0))).encode_to(&mut bytes);
        for _ in 0..2 {
            (w(1, 0), None::<Weight>, None::<Weight>, None::<Weight>).encode_to(&mut bytes);
        }
        let decoded = BlockWeights::decode(&mut bytes.as_slice()).unwrap();
        assert_eq!(decoded.max_block, w(2_000, 5_000));
        assert_eq!(decoded.per_class[0].max_extrinsic, Some(w(1_400, 3_600)));
        assert_eq!(decoded.per_class[1].max_extrinsic, None);
    }
}
