//! `relay deploy`: instantiates (with their code), wires and configures the BMC, the BMV for ICON and the
//! native-coin BSH, and writes the deployment file.
//!
//! Every step reads the chain first and acts only on a difference, so a re-run (after an interruption, or with
//! a coin or a relay added) does the rest and a run with nothing new submits nothing. Contracts are found again
//! from the file or, before it names them, from pallet-contracts' address rule (deployer, code, constructor input,
//! salt). Changes go in rounds, each one extrinsic (`Utility::batch_all`, all or nothing) awaited until final: on
//! a parachain, where that takes about 36 s, four rounds instead of eleven extrinsics one by one.

use crate::{
    deployment::{Coin, Contracts, Deployment, Icon, Rotation},
    signer::SignerConfig,
};
use bmc::bmc::{Bmc, BmcRef};
use bmv_icon::bmv_icon::BmvIconRef;
use bsh_nativecoin::bsh_nativecoin::{BshNativecoin, BshNativecoinRef};
use btp_parachain::{calls, contract_address, AccountId32, Bundle, Constructor, Message, Parachain, Prepared, Signer, Weight};
use btp_primitives::{
    address::{canonical_network, hex_account},
    BtpAddress,
};
use clap::Args;
use icon_light_client::header::BlockHeader;
use icon_rpc::IconClient;
use ink::primitives::AccountId;
use std::path::Path;
use std::{fmt::Debug, path::PathBuf, str::FromStr};

/// The name the BMC routes the native-coin service's messages by (ICON's name for it).
const SERVICE: &str = "nativecoin";

/// Deploys and wires the bridge's contracts on a parachain. Options left out are taken from the deployment file
/// when it exists; a re-run with the same file changes nothing.
#[derive(Args, Debug)]
pub struct DeployArgs {
    /// The deployment file: read first when it exists, written when done (TOML; see the README).
    #[arg(long, value_name = "PATH", default_value = "deployment.toml")]
    pub deployment: PathBuf,
    /// The parachain node's WebSocket RPC (ws://… or wss://…), or several nodes of the chain separated by commas
    /// (the first that answers is used; the relay fails over between them).
    #[arg(long, value_name = "URL[,URL…]")]
    pub parachain_url: Option<String>,
    /// The parachain's BTP network name, e.g. 0x501.pra.
    #[arg(long, value_name = "NET")]
    pub network: Option<String>,
    /// Directory with bmc.contract, bmv_icon.contract and bsh_nativecoin.contract (scripts/build-contracts.sh).
    #[arg(long, value_name = "DIR", default_value = "target/contracts")]
    pub bundles: PathBuf,
    /// ICON's JSON-RPC v3 endpoint, e.g. https://ctz.solidwallet.io/api/v3, or several of one chain separated by
    /// commas.
    #[arg(long, value_name = "URL[,URL…]")]
    pub icon_url: Option<String>,
    /// ICON's BMC as a BTP address, e.g. btp://0x1.icon/cx…: the link's peer; its network is the BMV's.
    #[arg(long, value_name = "BTP_ADDRESS")]
    pub icon_bmc: Option<String>,
    /// The ICON block the BMV starts after: its header (from --icon-url) gives the block hash, and its
    /// next-validators hash the validator list (icx_getDataByHash). The relay's first block update is HEIGHT + 1
    /// [file, else ICON's last block when the BMV is first deployed].
    #[arg(long, value_name = "HEIGHT")]
    pub icon_height: Option<u64>,
    /// Block HEIGHT's hash (hex), for an endpoint that lacks that block; use with --icon-validators.
    #[arg(long, value_name = "HEX", requires_all = ["icon_validators", "icon_height"])]
    pub icon_block_hash: Option<String>,
    /// The RLP list of the validators that sign block HEIGHT + 1 (hex); use with --icon-block-hash.
    #[arg(long, value_name = "HEX", requires = "icon_block_hash")]
    pub icon_validators: Option<String>,
    /// An account that may relay ICON's messages (SS58); repeat for several. Default: the signer.
    #[arg(long = "relay", value_name = "SS58")]
    pub relays: Vec<String>,
    /// Relay rotation on the ICON link: PARACHAIN_MS:ICON_MS:MAX_AGGREGATION:DELAY_LIMIT — the chains' block
    /// intervals, ICON blocks per turn, parachain blocks a relay may be late before its turn passes (0: never);
    /// 0:0:0:0 turns it off [file, else off].
    #[arg(long, value_name = "ROTATION")]
    pub rotation: Option<Rotation>,
    /// The parachain's own coin as the BSH names it [file, else DOT].
    #[arg(long, value_name = "NAME")]
    pub native_coin: Option<String>,
    /// The native coin's transfer fee in 1/10,000 of the value [file, else 10].
    #[arg(long, value_name = "BPS")]
    pub native_fee_ratio: Option<u32>,
    /// The native coin's fixed transfer fee in its smallest unit [file, else 0].
    #[arg(long, value_name = "AMOUNT")]
    pub native_fixed_fee: Option<u128>,
    /// A coin of another network to mint wrapped: NAME:SYMBOL:DECIMALS:FEE_RATIO:FIXED_FEE:NETWORK[,NETWORK…],
    /// e.g. ICX:ICX:18:0:100000000000000000:0x1.icon; repeat for several. Added to the file's coins.
    #[arg(long = "coin", value_name = "COIN")]
    pub coins: Vec<Coin>,
    /// Where the BMC gathers the services' fees (a BTP address) [file, else none].
    #[arg(long, value_name = "BTP_ADDRESS")]
    pub fee_aggregator: Option<String>,
    /// Blocks between fee gatherings; 0: only when an owner calls gather_fees [file, else 0].
    #[arg(long, value_name = "BLOCKS")]
    pub fee_gathering_term: Option<u32>,
    /// Roots the BMV's accumulator keeps; 0: all [file, else 0].
    #[arg(long, value_name = "N")]
    pub mta_root_size: Option<u32>,
    /// Recent block ids the BMV's accumulator caches [file, else 0].
    #[arg(long, value_name = "N")]
    pub mta_cache_size: Option<u32>,
    /// Let the BMV accept block proofs against accumulator roots newer than the relay's [file, else no].
    #[arg(long, value_name = "BOOL")]
    pub allow_newer_witness: Option<bool>,
    /// Salt of the contracts' addresses (hex): a second deployment by the same account needs another [file, else none].
    #[arg(long, value_name = "HEX")]
    pub salt: Option<String>,
    #[command(flatten)]
    pub signer: SignerConfig,
}

/// Combines the options with the file's values: an option wins, except where the deployed BMV fixes the value.
pub fn plan(args: &DeployArgs, file: Option<Deployment>) -> Result<Deployment, String> {
    let deployed = file.clone().filter(|f| f.contracts.is_some());
    let mut d = file.unwrap_or_default();
    let set = |field: &mut String, option: &Option<String>, flag: &str| -> Result<(), String> {
        if let Some(v) = option {
            *field = v.clone();
        }
        if field.is_empty() {
            return Err(format!("{flag} is needed (the deployment file has none)"));
        }
        Ok(())
    };
    set(&mut d.parachain.url, &args.parachain_url, "--parachain-url")?;
    set(&mut d.parachain.network, &args.network, "--network")?;
    btp_primitives::address::validate_network(&d.parachain.network).map_err(|e| format!("--network {}: {e}", d.parachain.network))?;
    set(&mut d.icon.url, &args.icon_url, "--icon-url")?;
    set(&mut d.icon.bmc, &args.icon_bmc, "--icon-bmc")?;
    let icon_bmc = BtpAddress::parse(&d.icon.bmc).map_err(|e| format!("--icon-bmc {}: {e}", d.icon.bmc))?;
    d.icon.network = icon_bmc.network().to_string();
    if let Some(height) = args.icon_height {
        if height != d.icon.height {
            d.icon.block_hash.clear();
            d.icon.validators.clear();
        }
        d.icon.height = height;
    }
    if let (Some(hash), Some(validators)) = (&args.icon_block_hash, &args.icon_validators) {
        d.icon.block_hash = hash.trim_start_matches("0x").to_string();
        d.icon.validators = validators.trim_start_matches("0x").to_string();
    }
    let s = &mut d.settings;
    for relay in &args.relays {
        AccountId32::from_str(relay).map_err(|e| format!("--relay {relay}: {e}"))?;
        if !s.relays.contains(relay) {
            s.relays.push(relay.clone());
        }
    }
    for coin in &args.coins {
        s.coins.retain(|c| c.name != coin.name);
        s.coins.push(coin.clone());
    }
    macro_rules! take {
        ($($field:ident <- $option:expr),*) => { $(if let Some(v) = $option.clone() { s.$field = v; })* };
    }
    take!(rotation <- args.rotation, native_coin <- args.native_coin, native_fee_ratio <- args.native_fee_ratio, native_fixed_fee <- args.native_fixed_fee,
          fee_gathering_term <- args.fee_gathering_term, mta_root_size <- args.mta_root_size, mta_cache_size <- args.mta_cache_size,
          allow_newer_witness <- args.allow_newer_witness, salt <- args.salt);
    if args.fee_aggregator.is_some() {
        s.fee_aggregator = args.fee_aggregator.clone();
    }
    hex::decode(&s.salt).map_err(|e| format!("--salt {}: {e}", s.salt))?;
    let r = s.rotation;
    let rotation = bmc::bmc::Rotation {
        block_interval_src: r.block_interval_src,
        block_interval_dst: r.block_interval_dst,
        max_aggregation: r.max_aggregation,
        ..Default::default()
    };
    // A relay checks its turn by a dry run in the block before its extrinsic's: with one-block turns that block is
    // always another relay's, and no relay would ever submit.
    if rotation.rotate_term() == 1 {
        return Err(format!("--rotation {r:?} gives turns of one parachain block; raise MAX_AGGREGATION to make them at least 2"));
    }
    // As the contracts store them, so that a re-run compares like with like.
    if let Some(aggregator) = &s.fee_aggregator {
        s.fee_aggregator = Some(BtpAddress::parse(aggregator).map_err(|e| format!("--fee-aggregator {aggregator}: {e}"))?.canonical().to_string());
    }
    for coin in &mut s.coins {
        for network in &mut coin.networks {
            *network = canonical_network(network).map_err(|e| format!("coin {}: network {network}: {e}", coin.name))?;
        }
    }
    if let Some(before) = deployed {
        refuse_changed_constructors(&before, &d)?;
    }
    Ok(d)
}

/// The contracts were built from these values: changing one would wire contracts that do not fit each other.
fn refuse_changed_constructors(before: &Deployment, now: &Deployment) -> Result<(), String> {
    let (b, n) = (&before.settings, &now.settings);
    let fixed = [
        ("--network", before.parachain.network != now.parachain.network),
        ("--icon-bmc", before.icon.bmc != now.icon.bmc),
        ("--icon-height", before.icon.height != now.icon.height),
        ("--icon-block-hash", before.icon.block_hash != now.icon.block_hash),
        ("--icon-validators", before.icon.validators != now.icon.validators),
        ("--native-coin", b.native_coin != n.native_coin),
        ("--salt", b.salt != n.salt),
        ("--mta-root-size", b.mta_root_size != n.mta_root_size),
        ("--mta-cache-size", b.mta_cache_size != n.mta_cache_size),
        ("--allow-newer-witness", b.allow_newer_witness != n.allow_newer_witness),
    ];
    match fixed.iter().filter(|(_, changed)| *changed).map(|(flag, _)| *flag).collect::<Vec<_>>()[..] {
        [] => Ok(()),
        ref changed => Err(format!("{} differ from the deployed contracts' constructors; another value needs a new deployment file", changed.join(", "))),
    }
}

/// What a run did, for its summary.
#[derive(Default)]
struct Report {
    extrinsics: usize,
    changes: Vec<String>,
}

impl Report {
    fn did(&mut self, changes: Vec<String>) {
        tracing::info!(changes = %changes.join("; "), "final");
        self.extrinsics += 1;
        self.changes.extend(changes);
    }
}

fn fail(e: impl ToString) -> String {
    e.to_string()
}

fn ink_account(a: &AccountId32) -> AccountId {
    AccountId::from(a.0)
}

/// The deployment's three bundles.
struct Bundles {
    bmc: Bundle,
    bmv: Bundle,
    bsh: Bundle,
}

impl Bundles {
    fn load(dir: &std::path::Path) -> Result<Self, String> {
        let load = |name: &str| Bundle::in_dir(dir, name).map_err(fail);
        Ok(Self { bmc: load("bmc")?, bmv: load("bmv_icon")?, bsh: load("bsh_nativecoin")? })
    }
}

/// How long the deployment's last extrinsics may take to become final (on a parachain: the relay chain's GRANDPA
/// finalizing the block that includes its candidate, about a minute).
const FINAL_WITHIN: std::time::Duration = std::time::Duration::from_secs(300);

/// How many times the plan is run before a failing step is reported.
const DEPLOY_ATTEMPTS: u32 = 3;

/// Runs `relay deploy`.
pub async fn run(args: DeployArgs) -> Result<(), String> {
    let mut d = plan(&args, Deployment::read(&args.deployment)?)?;
    let signer = args.signer.signer()?;
    let bundles = Bundles::load(&args.bundles)?;
    if d.icon.block_hash.is_empty() {
        let height = args.icon_height.or_else(|| (d.icon.height > 0).then_some(d.icon.height));
        fetch_icon_start(&mut d.icon, height).await?;
        // Recorded at once: a re-run must build the same BMV, not one from a later ICON block.
        d.write(&args.deployment)?;
    }
    let para = Parachain::connect_to(endpoints(&d.parachain.url)?).await.map_err(fail)?;
    tracing::info!(parachain = %btp_endpoint::redact(&d.parachain.url), signer = %signer.account(), "deploying");
    let mut report = Report::default();
    let mut deployer = Deployer { para: &para, signer: &signer, report: &mut report };
    let settled = |e: btp_parachain::Error| format!("the deployment's extrinsics are not final: {e} (run relay deploy again)");
    for attempt in 1.. {
        match deployer.deploy(&mut d, &bundles, &args.deployment).await {
            Ok(()) => break,
            // On a parachain the pool may drop a step's extrinsic as invalid, or a best block the next step was
            // planned on may be abandoned. Once everything of ours is final or gone, the chain is read again and the
            // plan finished: every step acts only on a difference.
            Err(e) if attempt < DEPLOY_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "a step failed; reading the chain again once our extrinsics are final");
                para.wait_until_final(&signer, FINAL_WITHIN).await.map_err(settled)?;
            }
            Err(e) => return Err(e),
        }
    }
    d.write(&args.deployment)?;

    let c = d.contracts.as_ref().expect("set above");
    println!("deployment file: {}", args.deployment.display());
    println!("parachain: {} ({})", btp_endpoint::redact(&d.parachain.url), d.parachain.network);
    println!("bmc: {} (code 0x{})", c.bmc, c.bmc_code_hash);
    println!("bmv: {} (code 0x{}) for {} after block {}", c.bmv, c.bmv_code_hash, d.icon.network, d.icon.height);
    println!("bsh: {} (code 0x{}) as service {SERVICE}", c.bsh, c.bsh_code_hash);
    println!("link: {} ({})", d.icon.bmc, btp_endpoint::redact(&d.icon.url));
    match report.extrinsics {
        0 => println!("submitted 0 extrinsics: the parachain already matched the deployment"),
        n => println!("submitted {n} extrinsics: {}", report.changes.join("; ")),
    }
    Ok(())
}

/// The endpoints of a URL list (`--parachain-url`, `--icon-url`: several of one chain separated by commas, the
/// first that answers used).
fn endpoints(urls: &str) -> Result<std::sync::Arc<btp_endpoint::Endpoints>, String> {
    btp_endpoint::Endpoints::new(btp_endpoint::split(urls), u64::MAX).map(std::sync::Arc::new)
}

/// Reads where the BMV starts from ICON: block `height`'s (by default the last block's) hash, and the validators
/// its header commits to as the next block's signers.
async fn fetch_icon_start(icon: &mut Icon, height: Option<u64>) -> Result<(), String> {
    let client = IconClient::with_endpoints(endpoints(&icon.url)?).map_err(fail)?;
    icon.height = match height {
        Some(h) => h,
        None => client.last_height().await.map_err(fail)?,
    };
    let bytes = client.block_header(icon.height).await.map_err(fail)?;
    let header = BlockHeader::decode(&bytes).map_err(|e| format!("ICON block {}'s header: {e:?}", icon.height))?;
    if u64::try_from(header.height).ok() != Some(icon.height) {
        return Err(format!("ICON answered block {} for height {}", header.height, icon.height));
    }
    let next = header.next_validators_hash.ok_or_else(|| format!("ICON block {} names no next validators", icon.height))?;
    let validators = client.data_by_hash(&next).await.map_err(fail)?;
    if icon_light_client::sha3_256(&validators) != next {
        return Err(format!("ICON's data for hash 0x{} does not hash to it", hex::encode(next)));
    }
    icon.block_hash = hex::encode(header.id);
    icon.validators = hex::encode(validators);
    tracing::info!(height = icon.height, block = %icon.block_hash, "the BMV starts after this ICON block");
    Ok(())
}

/// How many rounds the wiring may take: a change that needs another one (a relay needs its link) waits a round.
const WIRING_ROUNDS: usize = 4;

/// A change the deployment makes: dry-run on the chain as it is, ready to be submitted.
struct Change {
    what: String,
    call: Prepared,
}

/// The changes of one round: those whose dry run passed, and those that failed it for now (a contract's refusal,
/// such as a relay for a link not added yet).
#[derive(Default)]
struct Round {
    ready: Vec<Change>,
    waiting: Vec<String>,
}

struct Deployer<'a> {
    para: &'a Parachain,
    signer: &'a Signer,
    report: &'a mut Report,
}

impl Deployer<'_> {
    /// The three contracts, each found or instantiated, recorded in the deployment file at `path` before they are
    /// wired.
    async fn deploy(&mut self, d: &mut Deployment, b: &Bundles, path: &Path) -> Result<(), String> {
        d.contracts = Some(self.contracts(d, b).await?);
        // Recorded before the wiring: a run interrupted from here on finds the contracts by the file.
        d.write(path)?;
        self.wire(d, b).await
    }

    /// The contracts, those not there yet instantiated in one extrinsic (their code uploaded in it when missing):
    /// each one's address and constructor input are known before any of them is there.
    async fn contracts(&mut self, d: &Deployment, b: &Bundles) -> Result<Contracts, String> {
        let recorded = d.contracts.clone();
        let recorded = recorded.as_ref();
        let salt = hex::decode(&d.settings.salt).map_err(fail)?;
        let s = &d.settings;
        let mut new = Vec::new();
        let bmc = self.contract(&b.bmc, recorded.map(|c| &c.bmc), Constructor::new(BmcRef::new(d.parachain.network.clone())), &salt, &mut new).await?;
        // The BMV is told the BMC's BTP address, which the BMC's constructor makes of its network and account.
        let bmc_address = BtpAddress::new(&d.parachain.network, &hex_account(&bmc.0)).map_err(|e| format!("the BMC's BTP address: {e}"))?;
        let bmc_address = bmc_address.canonical().to_string();
        let hash = |h: &str| -> Result<[u8; 32], String> {
            hex::decode(h).ok().and_then(|v| v.try_into().ok()).ok_or_else(|| format!("ICON block hash {h} is not 32 bytes of hex"))
        };
        let validators = hex::decode(&d.icon.validators).map_err(|e| format!("ICON validators: {e}"))?;
        let bmv_new = BmvIconRef::new(
            ink_account(&bmc),
            bmc_address.clone(),
            d.icon.network.clone(),
            validators,
            d.icon.height,
            s.mta_root_size,
            s.mta_cache_size,
            s.allow_newer_witness,
            hash(&d.icon.block_hash)?,
        );
        let bmv = self.contract(&b.bmv, recorded.map(|c| &c.bmv), Constructor::new(bmv_new), &salt, &mut new).await?;
        let bsh_new = BshNativecoinRef::new(ink_account(&bmc), d.parachain.network.clone(), s.native_coin.clone(), s.native_fee_ratio, s.native_fixed_fee);
        let bsh = self.contract(&b.bsh, recorded.map(|c| &c.bsh), Constructor::new(bsh_new), &salt, &mut new).await?;
        self.submit(new).await?;
        let own = self.query(&b.bmc, Message::new(calls::<Bmc>(&bmc).btp_address())).await?;
        if own != bmc_address {
            return Err(format!("the BMC's BTP address is {own}, not {bmc_address} as its BMV was told"));
        }
        let code = |b: &Bundle| hex::encode(b.code_hash);
        Ok(Contracts {
            bmc: bmc.to_string(),
            bmc_code_hash: code(&b.bmc),
            bmv: bmv.to_string(),
            bmv_code_hash: code(&b.bmv),
            bsh: bsh.to_string(),
            bsh_code_hash: code(&b.bsh),
        })
    }

    /// The contract the file records (it must be there, running the bundle's code), or the one at the address
    /// this deployer, code, input and salt give: when it is not there yet, its instantiation is added to `new`.
    async fn contract<E: ink::scale::Decode + Debug>(
        &mut self,
        bundle: &Bundle,
        recorded: Option<&String>,
        constructor: Constructor<E>,
        salt: &[u8],
        new: &mut Vec<Change>,
    ) -> Result<AccountId32, String> {
        let (para, name) = (self.para, &bundle.name);
        if let Some(recorded) = recorded {
            let account = AccountId32::from_str(recorded).map_err(|e| format!("the deployment file's {name} {recorded}: {e}"))?;
            return match para.contract_code_hash(&account).await.map_err(fail)? {
                Some(code) if code == bundle.code_hash => Ok(account),
                Some(code) => Err(format!(
                    "{name} at {recorded} runs code 0x{}, not the bundle's 0x{}: deploy does not upgrade contracts",
                    hex::encode(code),
                    hex::encode(bundle.code_hash)
                )),
                None => Err(format!(
                    "the deployment file names {name} at {recorded}, but the parachain has no contract there (a new chain? start from a new deployment file)"
                )),
            };
        }
        let address = AccountId32(contract_address(&self.signer.account().0, &bundle.code_hash, &constructor.input, salt));
        if para.contract_code_hash(&address).await.map_err(fail)?.is_some() {
            return Ok(address);
        }
        let uploaded = match para.code_exists(&bundle.code_hash).await.map_err(fail)? {
            true => String::new(),
            false => format!(" (code 0x{} uploaded)", hex::encode(bundle.code_hash)),
        };
        let (address, call) = para.prepare_instantiate(&self.signer.account(), bundle, &constructor, salt).await.map_err(|e| format!("{name}: {e}"))?;
        new.push(Change { what: format!("instantiated {name} at {address}{uploaded}"), call });
        Ok(address)
    }

    /// Submits `changes` in as few extrinsics as the chain takes (one `Utility::batch_all` where it has one and
    /// their weight fits), each awaited until final.
    async fn submit(&mut self, changes: Vec<Change>) -> Result<(), String> {
        if changes.is_empty() {
            return Ok(());
        }
        let batches = self.para.batches().await;
        let limits = self.para.limits().await.map_err(fail)?;
        let mut extrinsics: Vec<Vec<Change>> = Vec::new();
        let mut weight = Weight::default();
        for change in changes {
            let more = Weight {
                ref_time: weight.ref_time.saturating_add(change.call.weight.ref_time),
                proof_size: weight.proof_size.saturating_add(change.call.weight.proof_size),
            };
            // Half the limit for the calls' gas: the rest is for what an extrinsic weighs besides (code uploaded,
            // its base weight).
            match extrinsics.last_mut() {
                Some(last) if batches && limits.exceeded_by(more.with_margin(100)).is_none() => {
                    last.push(change);
                    weight = more;
                }
                _ => {
                    weight = change.call.weight;
                    extrinsics.push(vec![change]);
                }
            }
        }
        for changes in extrinsics {
            let what: Vec<String> = changes.iter().map(|c| c.what.clone()).collect();
            let calls = changes.into_iter().map(|c| c.call).collect();
            self.para.submit_all(self.signer, calls).await.map_err(|e| format!("{}: {e}", what.join("; ")))?;
            self.report.did(what);
        }
        Ok(())
    }

    /// Dry-runs `message` as the deployer: a change ready for this round, or one that waits (the contract refuses
    /// it for now). Any other failure ends the run.
    async fn change<R: ink::scale::Decode + Debug>(&self, round: &mut Round, bundle: &Bundle, message: Message<R>, what: String) -> Result<(), String> {
        match self.para.prepare_call(&self.signer.account(), bundle, &message).await {
            Ok((_, call)) => round.ready.push(Change { what, call }),
            Err(e @ btp_parachain::Error::Contract { .. }) => round.waiting.push(format!("{what}: {e}")),
            Err(e) => return Err(format!("{what}: {e}")),
        }
        Ok(())
    }

    async fn query<R: ink::scale::Decode + Debug>(&self, bundle: &Bundle, message: Message<R>) -> Result<R, String> {
        self.para.query(&self.signer.account(), bundle, &message).await.map_err(fail)
    }

    /// Wires the contracts in rounds: each submits every change whose dry run passes on the chain as it is, and the
    /// next reads the chain again.
    async fn wire(&mut self, d: &Deployment, b: &Bundles) -> Result<(), String> {
        for _ in 0..WIRING_ROUNDS {
            let round = self.wiring(d, b).await?;
            if round.ready.is_empty() {
                return match round.waiting.is_empty() {
                    true => Ok(()),
                    false => Err(round.waiting.join("; ")),
                };
            }
            self.submit(round.ready).await?;
        }
        let left = self.wiring(d, b).await?;
        let left: Vec<_> = left.ready.iter().map(|c| c.what.clone()).chain(left.waiting).collect();
        match left.is_empty() {
            true => Ok(()),
            false => Err(format!("still to do after {WIRING_ROUNDS} rounds: {}", left.join("; "))),
        }
    }

    /// What the BMC's verifier, service, link, relays, rotation and fee gathering, and the BSH's coins, lack of
    /// what the deployment says.
    async fn wiring(&self, d: &Deployment, b: &Bundles) -> Result<Round, String> {
        let mut round = Round::default();
        let c = d.contracts.as_ref().expect("contracts first");
        let account = |s: &str| AccountId32::from_str(s).map_err(|e| format!("{s}: {e}"));
        let (bmc, bmv, bsh) = (account(&c.bmc)?, account(&c.bmv)?, account(&c.bsh)?);
        let (bmv_ink, bsh_ink) = (ink_account(&bmv), ink_account(&bsh));
        let on_bmc = || calls::<Bmc>(&bmc);
        let net = &d.icon.network;

        let verifiers = self.query(&b.bmc, Message::new(on_bmc().verifiers())).await?;
        match verifiers.iter().find(|(n, _)| n == net) {
            Some((_, v)) if *v == bmv_ink => {}
            Some((_, v)) => return Err(format!("the BMC verifies {net} with {} already; remove that verifier first", AccountId32(*v.as_ref()))),
            None => self.change(&mut round, &b.bmc, Message::new(on_bmc().add_verifier(net.clone(), bmv_ink)), format!("BMC: verifier for {net}")).await?,
        }
        let services = self.query(&b.bmc, Message::new(on_bmc().services())).await?;
        match services.iter().find(|(n, _)| n == SERVICE) {
            Some((_, s)) if *s == bsh_ink => {}
            Some((_, s)) => return Err(format!("the BMC's {SERVICE} service is {} already; remove it first", AccountId32(*s.as_ref()))),
            None => self.change(&mut round, &b.bmc, Message::new(on_bmc().add_service(SERVICE.into(), bsh_ink)), format!("BMC: service {SERVICE}")).await?,
        }
        let link = &d.icon.bmc;
        // Until the link is there, its relays and rotation wait for it (their dry runs fail).
        let state = self.query(&b.bmc, Message::new(on_bmc().link(link.clone()))).await?.filter(|state| state.connected);
        if state.is_none() {
            self.change(&mut round, &b.bmc, Message::new(on_bmc().add_link(link.clone())), format!("BMC: link to {link}")).await?;
        }
        let (relays_now, rotation) = state.map(|s| (s.relays, s.rotation)).unwrap_or_default();
        let relays = match d.settings.relays.is_empty() {
            true => vec![self.signer.account()],
            false => d.settings.relays.iter().map(|r| account(r)).collect::<Result<_, _>>()?,
        };
        for relay in relays {
            if !relays_now.iter().any(|r| r.account == ink_account(&relay)) {
                self.change(&mut round, &b.bmc, Message::new(on_bmc().add_relay(link.clone(), ink_account(&relay))), format!("BMC: relay {relay}")).await?;
            }
        }
        let r = d.settings.rotation;
        let now = (rotation.block_interval_src, rotation.block_interval_dst, rotation.max_aggregation, rotation.delay_limit);
        if now != (r.block_interval_src, r.block_interval_dst, r.max_aggregation, r.delay_limit) {
            let set = on_bmc().set_link_rotation(link.clone(), r.block_interval_src, r.block_interval_dst, r.max_aggregation, r.delay_limit);
            self.change(&mut round, &b.bmc, Message::new(set), format!("BMC: relay rotation {r:?}")).await?;
        }
        let fees = self.query(&b.bmc, Message::new(on_bmc().fee_gathering())).await?;
        let (aggregator, term) = (d.settings.fee_aggregator.clone(), d.settings.fee_gathering_term);
        if (fees.fee_aggregator.as_ref(), fees.term) != (aggregator.as_ref(), term) {
            self.change(
                &mut round,
                &b.bmc,
                Message::new(on_bmc().set_fee_gathering(aggregator.clone(), term)),
                format!("BMC: fee gathering to {aggregator:?} every {term} blocks"),
            )
            .await?;
        }

        let on_bsh = || calls::<BshNativecoin>(&bsh);
        let s = &d.settings;
        let native = Coin {
            name: s.native_coin.clone(),
            symbol: String::new(),
            decimals: 0,
            fee_ratio: s.native_fee_ratio,
            fixed_fee: s.native_fixed_fee,
            networks: vec![],
        };
        for coin in std::iter::once(&native).chain(&s.coins) {
            let name = &coin.name;
            match self.query(&b.bsh, Message::new(on_bsh().coin_info(name.clone()))).await? {
                None => {
                    let register = on_bsh().register(name.clone(), coin.symbol.clone(), coin.decimals, coin.fee_ratio, coin.fixed_fee, coin.networks.clone());
                    self.change(&mut round, &b.bsh, Message::new(register), format!("BSH: coin {name} from {}", coin.networks.join(","))).await?;
                }
                Some(info) => {
                    if info.networks != coin.networks && coin.name != s.native_coin {
                        tracing::warn!(coin = %name, registered = ?info.networks, wanted = ?coin.networks, "a coin's networks are fixed at registration");
                    }
                    if (info.fee.ratio, info.fee.fixed) != (coin.fee_ratio, coin.fixed_fee) {
                        let set_fee = on_bsh().set_fee(name.clone(), coin.fee_ratio, coin.fixed_fee);
                        self.change(&mut round, &b.bsh, Message::new(set_fee), format!("BSH: {name} fee {}/10000 + {}", coin.fee_ratio, coin.fixed_fee))
                            .await?;
                    }
                }
            }
        }
        Ok(round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        deploy: DeployArgs,
    }

    fn args(extra: &[&str]) -> DeployArgs {
        let base = ["relay", "--parachain-url", "ws://127.0.0.1:9944", "--network", "0x501.pra", "--icon-url", "http://127.0.0.1:9080/api/v3"];
        Cli::try_parse_from(base.iter().chain(extra)).map(|c| c.deploy).unwrap()
    }

    const ICON_BMC: &str = "btp://0x3.icon/cx0000000000000000000000000000000000000001";

    #[test]
    fn options_fill_a_new_deployment_and_say_what_is_missing() {
        let d = plan(&args(&["--icon-bmc", ICON_BMC, "--icon-height", "100", "--coin", "ICX:ICX:18:0:1:0x3.icon"]), None).unwrap();
        assert_eq!((d.icon.network.as_str(), d.icon.height, d.settings.coins.len()), ("0x3.icon", 100, 1));
        assert!(d.icon.block_hash.is_empty(), "to be read from ICON");
        assert!(plan(&args(&["--icon-bmc", ICON_BMC]), None).unwrap().icon.block_hash.is_empty(), "ICON's last block, read at deployment");
        assert!(plan(&args(&[]), None).unwrap_err().contains("--icon-bmc"));
        assert!(plan(&args(&["--icon-bmc", "cx01", "--icon-height", "1"]), None).unwrap_err().contains("--icon-bmc cx01"));
        assert!(plan(&args(&["--icon-bmc", ICON_BMC, "--icon-height", "1", "--salt", "zz"]), None).unwrap_err().contains("--salt"));
    }

    #[test]
    fn a_rerun_keeps_the_file_and_adds_to_it() {
        let mut file = plan(&args(&["--icon-bmc", ICON_BMC, "--icon-height", "100", "--coin", "ICX:ICX:18:0:1:0x3.icon"]), None).unwrap();
        file.icon.block_hash = "11".repeat(32);
        file.icon.validators = "c0".into();
        file.contracts = Some(Contracts::default());
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let again = plan(&args(&["--relay", alice, "--coin", "ICX:ICX:18:5:1:0x3.icon"]), Some(file.clone())).unwrap();
        assert_eq!(again.icon, file.icon, "the BMV's start stays");
        assert_eq!((again.settings.relays.len(), again.settings.coins.len(), again.settings.coins[0].fee_ratio), (1, 1, 5));
        let moved = plan(&args(&["--icon-height", "200"]), Some(file.clone())).unwrap_err();
        assert!(moved.contains("--icon-height") && moved.contains("new deployment file"), "{moved}");
        let other = plan(&args(&["--native-coin", "KSM", "--salt", "01"]), Some(file.clone())).unwrap_err();
        assert!(other.starts_with("--native-coin, --salt differ"), "{other}");
        let peer = plan(&args(&["--icon-bmc", "btp://0x7.icon/cx0000000000000000000000000000000000000001"]), Some(file.clone())).unwrap_err();
        assert!(peer.contains("--icon-bmc"), "{peer}");
        let mixed = plan(&args(&["--fee-aggregator", "btp://0x3.icon/HX00000000000000000000000000000000000000AB"]), Some(file.clone())).unwrap();
        assert_eq!(mixed.settings.fee_aggregator.as_deref(), Some("btp://0x3.icon/hx00000000000000000000000000000000000000ab"), "as the BMC keeps it");
        assert_eq!(plan(&args(&[]), Some(file.clone())).unwrap(), file, "nothing given, nothing changed");
    }
}
