// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title DePinMarket
/// @notice A compute marketplace: providers register, tenants post orders with an escrowed deposit,
/// providers bid, the tenant accepts bids, and each accepted bid becomes a lease that streams payment
/// per second from its escrow to the provider. Providers pull what has accrued; either side closes a
/// lease, which settles it and returns the rest of the escrow to the tenant.
/// @dev Every refusal is a custom error and every state change an event. Token movements come last
/// (checks, effects, interactions) and every entry point that moves tokens is nonReentrant. Accrual is
/// computed from the lease start each time, so rounding loses less than one token unit per lease.
/// Tokens that take a fee on transfer are refused.
contract DePinMarket is ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 private constant SECONDS_PER_HOUR = 3600;

    enum OrderState {
        None,
        Open,
        Matched,
        Cancelled
    }

    enum BidState {
        None,
        Open,
        Won,
        Lost,
        Withdrawn
    }

    enum LeaseState {
        None,
        Active,
        Insolvent,
        Closed
    }

    struct Provider {
        string endpoint;
        string region;
        string attributes;
        bool active;
        bool registered;
    }

    /// @notice What one replica needs.
    struct Resources {
        uint32 cpuMillis;
        uint32 memoryMiB;
        uint32 storageMiB;
        uint16 gpuCount;
        string gpuModel;
    }

    struct Order {
        address tenant;
        IERC20 token;
        bytes32 specHash;
        uint32 replicas;
        uint64 bidDeadline;
        uint256 maxPricePerHour;
        uint256 deposit;
        OrderState state;
        Resources resources;
    }

    struct Bid {
        uint256 orderId;
        address provider;
        uint256 pricePerHour;
        uint32 replicas;
        BidState state;
    }

    struct Lease {
        uint256 orderId;
        uint256 bidId;
        address tenant;
        address provider;
        IERC20 token;
        uint256 ratePerHour;
        uint32 replicas;
        uint64 startedAt;
        uint64 closedAt;
        uint256 deposited;
        uint256 paid;
        bool closed;
    }

    /// @notice A lease's escrow at this moment.
    struct LeaseBalance {
        LeaseState state;
        uint256 accrued;
        uint256 withdrawable;
        uint256 remaining;
        uint64 runsOutAt;
    }

    error ProviderNotRegistered(address provider);
    error ProviderAlreadyRegistered(address provider);
    error ProviderInactive(address provider);
    error EmptyEndpoint();
    error ZeroReplicas();
    error ZeroAmount();
    error ZeroPrice();
    error ZeroAddress();
    error DeadlineInPast(uint64 deadline, uint256 timestamp);
    error OrderNotFound(uint256 orderId);
    error OrderNotOpen(uint256 orderId, OrderState state);
    error BiddingClosed(uint256 orderId, uint64 deadline, uint256 timestamp);
    error PriceAboveMaximum(uint256 price, uint256 maximum);
    error DuplicateBid(uint256 orderId, address provider);
    error ReplicasOutOfRange(uint32 replicas, uint32 maximum);
    error BidNotFound(uint256 bidId);
    error BidNotOpen(uint256 bidId, BidState state);
    error BidNotForOrder(uint256 bidId, uint256 orderId);
    error NoBidsAccepted(uint256 orderId);
    error LengthMismatch(uint256 bids, uint256 replicas);
    error ReplicaTotalMismatch(uint32 accepted, uint32 ordered);
    error NotTenant(address caller);
    error NotProvider(address caller);
    error NotLeaseParty(address caller);
    error LeaseNotFound(uint256 leaseId);
    error LeaseNotActive(uint256 leaseId, LeaseState state);
    error NothingToWithdraw(uint256 leaseId);
    error NothingToClaim(address tenant, address token);
    error FeeOnTransferToken(address token, uint256 expected, uint256 received);

    event ProviderRegistered(address indexed provider, string endpoint, string region, string attributes);
    event ProviderUpdated(address indexed provider, string endpoint, string region, string attributes);
    event ProviderActiveChanged(address indexed provider, bool active);
    event ProviderAttested(address indexed provider, address indexed auditor, bytes32 attributesHash);
    event OrderCreated(
        uint256 indexed orderId,
        address indexed tenant,
        address token,
        bytes32 specHash,
        uint32 replicas,
        uint256 maxPricePerHour,
        uint64 bidDeadline,
        uint256 deposit
    );
    event OrderCancelled(uint256 indexed orderId, uint256 refund);
    event OrderMatched(uint256 indexed orderId, uint256 leases);
    event BidPlaced(
        uint256 indexed orderId, uint256 indexed bidId, address indexed provider, uint256 pricePerHour, uint32 replicas
    );
    event BidWithdrawn(uint256 indexed orderId, uint256 indexed bidId);
    event BidLost(uint256 indexed orderId, uint256 indexed bidId);
    event LeaseCreated(
        uint256 indexed leaseId,
        uint256 indexed orderId,
        address indexed provider,
        uint256 bidId,
        address tenant,
        uint256 ratePerHour,
        uint256 deposit
    );
    event LeaseToppedUp(uint256 indexed leaseId, uint256 amount, uint256 deposited);
    event EarningsWithdrawn(uint256 indexed leaseId, address indexed provider, uint256 amount);
    event LeaseClosed(
        uint256 indexed leaseId, address indexed closedBy, uint256 providerShare, uint256 refund, bool insolvent
    );
    event RefundClaimed(address indexed tenant, address indexed token, uint256 amount);

    mapping(address => Provider) private _providers;
    mapping(address => mapping(address => bytes32)) private _attestations;
    mapping(uint256 => Order) private _orders;
    mapping(uint256 => uint256[]) private _orderBids;
    mapping(uint256 => mapping(address => bool)) private _hasBid;
    mapping(uint256 => Bid) private _bids;
    mapping(uint256 => Lease) private _leases;
    mapping(uint256 => uint256[]) private _orderLeases;
    mapping(address => mapping(address => uint256)) private _refunds;

    uint256 public orderCount;
    uint256 public bidCount;
    uint256 public leaseCount;

    // ----------------------------------------------------------------- providers

    function registerProvider(string calldata endpoint, string calldata region, string calldata attributes) external {
        if (_providers[msg.sender].registered) revert ProviderAlreadyRegistered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        _providers[msg.sender] = Provider(endpoint, region, attributes, true, true);
        emit ProviderRegistered(msg.sender, endpoint, region, attributes);
    }

    function updateProvider(string calldata endpoint, string calldata region, string calldata attributes) external {
        Provider storage p = _registered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        p.endpoint = endpoint;
        p.region = region;
        p.attributes = attributes;
        emit ProviderUpdated(msg.sender, endpoint, region, attributes);
    }

    function setProviderActive(bool active) external {
        _registered(msg.sender).active = active;
        emit ProviderActiveChanged(msg.sender, active);
    }

    /// @notice An auditor vouches for a provider's attributes. Tenants choose which auditors they trust;
    /// an attestation counts only while its hash equals keccak256 of the provider's current attributes.
    function attestProvider(address provider, bytes32 attributesHash) external {
        _registered(provider);
        _attestations[provider][msg.sender] = attributesHash;
        emit ProviderAttested(provider, msg.sender, attributesHash);
    }

    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    function attestation(address provider, address auditor) external view returns (bytes32) {
        return _attestations[provider][auditor];
    }

    // ----------------------------------------------------------------- orders and bids

    /// @notice Posts an order and escrows its deposit, which the tenant must have approved.
    function createOrder(
        IERC20 token,
        bytes32 specHash,
        uint32 replicas,
        uint256 maxPricePerHour,
        uint64 bidDeadline,
        uint256 deposit,
        Resources calldata resources
    ) external nonReentrant returns (uint256 orderId) {
        if (address(token) == address(0)) revert ZeroAddress();
        if (replicas == 0) revert ZeroReplicas();
        if (maxPricePerHour == 0) revert ZeroPrice();
        if (deposit == 0) revert ZeroAmount();
        if (bidDeadline <= block.timestamp) revert DeadlineInPast(bidDeadline, block.timestamp);

        orderId = ++orderCount;
        Order storage o = _orders[orderId];
        o.tenant = msg.sender;
        o.token = token;
        o.specHash = specHash;
        o.replicas = replicas;
        o.bidDeadline = bidDeadline;
        o.maxPricePerHour = maxPricePerHour;
        o.deposit = deposit;
        o.state = OrderState.Open;
        o.resources = resources;
        emit OrderCreated(orderId, msg.sender, address(token), specHash, replicas, maxPricePerHour, bidDeadline, deposit);

        _pull(token, deposit);
    }

    /// @notice Cancels an open order: its bids are lost and the deposit returns to the tenant.
    function cancelOrder(uint256 orderId) external nonReentrant {
        Order storage o = _openOrder(orderId);
        if (msg.sender != o.tenant) revert NotTenant(msg.sender);
        o.state = OrderState.Cancelled;
        _loseOpenBids(orderId);
        uint256 refund = o.deposit;
        emit OrderCancelled(orderId, refund);
        o.token.safeTransfer(o.tenant, refund);
    }

    /// @notice Bids on an open order before its deadline: at most the order's price, one bid per provider.
    function bid(uint256 orderId, uint256 pricePerHour, uint32 replicas) external returns (uint256 bidId) {
        Provider storage p = _registered(msg.sender);
        if (!p.active) revert ProviderInactive(msg.sender);
        Order storage o = _openOrder(orderId);
        if (block.timestamp > o.bidDeadline) revert BiddingClosed(orderId, o.bidDeadline, block.timestamp);
        if (pricePerHour == 0) revert ZeroPrice();
        if (pricePerHour > o.maxPricePerHour) revert PriceAboveMaximum(pricePerHour, o.maxPricePerHour);
        if (replicas == 0 || replicas > o.replicas) revert ReplicasOutOfRange(replicas, o.replicas);
        if (_hasBid[orderId][msg.sender]) revert DuplicateBid(orderId, msg.sender);

        _hasBid[orderId][msg.sender] = true;
        bidId = ++bidCount;
        _bids[bidId] = Bid(orderId, msg.sender, pricePerHour, replicas, BidState.Open);
        _orderBids[orderId].push(bidId);
        emit BidPlaced(orderId, bidId, msg.sender, pricePerHour, replicas);
    }

    /// @notice The provider takes back an open bid.
    function withdrawBid(uint256 bidId) external {
        Bid storage b = _bid(bidId);
        if (msg.sender != b.provider) revert NotProvider(msg.sender);
        if (b.state != BidState.Open) revert BidNotOpen(bidId, b.state);
        b.state = BidState.Withdrawn;
        emit BidWithdrawn(b.orderId, bidId);
    }

    /// @notice The tenant accepts bids, taking from each between one replica and as many as it offered,
    /// so that the replicas add up to the order's. Each accepted bid becomes a lease for the replicas
    /// taken; the deposit is shared among the leases in proportion to their hourly rates; all other bids
    /// are lost.
    function accept(uint256 orderId, uint256[] calldata bidIds, uint32[] calldata replicas)
        external
        returns (uint256[] memory leaseIds)
    {
        Order storage o = _openOrder(orderId);
        if (msg.sender != o.tenant) revert NotTenant(msg.sender);
        if (bidIds.length == 0) revert NoBidsAccepted(orderId);
        if (replicas.length != bidIds.length) revert LengthMismatch(bidIds.length, replicas.length);

        (uint32 total, uint256 totalRate) = _takeBids(orderId, bidIds, replicas);
        if (total != o.replicas) revert ReplicaTotalMismatch(total, o.replicas);

        o.state = OrderState.Matched;
        _loseOpenBids(orderId);
        leaseIds = _openLeases(o, orderId, bidIds, replicas, totalRate);
        emit OrderMatched(orderId, bidIds.length);
    }

    function getOrder(uint256 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    function getBid(uint256 bidId) external view returns (Bid memory) {
        return _bids[bidId];
    }

    function orderBids(uint256 orderId) external view returns (uint256[] memory) {
        return _orderBids[orderId];
    }

    function orderLeases(uint256 orderId) external view returns (uint256[] memory) {
        return _orderLeases[orderId];
    }

    // ----------------------------------------------------------------- leases

    /// @notice Adds to a lease's escrow. A lease whose escrow already ran dry cannot be revived.
    function topUp(uint256 leaseId, uint256 amount) external nonReentrant {
        Lease storage l = _lease(leaseId);
        LeaseState state = _state(l);
        if (state != LeaseState.Active) revert LeaseNotActive(leaseId, state);
        if (msg.sender != l.tenant) revert NotTenant(msg.sender);
        if (amount == 0) revert ZeroAmount();
        l.deposited += amount;
        emit LeaseToppedUp(leaseId, amount, l.deposited);
        _pull(l.token, amount);
    }

    /// @notice The provider takes what has accrued and not yet been paid, also after the lease closed.
    function withdraw(uint256 leaseId) external nonReentrant returns (uint256 amount) {
        Lease storage l = _lease(leaseId);
        if (msg.sender != l.provider) revert NotProvider(msg.sender);
        amount = _accrued(l) - l.paid;
        if (amount == 0) revert NothingToWithdraw(leaseId);
        l.paid += amount;
        emit EarningsWithdrawn(leaseId, l.provider, amount);
        l.token.safeTransfer(l.provider, amount);
    }

    /// @notice Either side ends the lease. Accrual stops; what the provider has earned stays for
    /// `withdraw`, and the rest of the escrow goes to the tenant: at once when the tenant closes, through
    /// `claimRefund` when the provider does, so that neither side's payout can block the other.
    function close(uint256 leaseId) external nonReentrant {
        Lease storage l = _lease(leaseId);
        LeaseState state = _state(l);
        if (state == LeaseState.Closed) revert LeaseNotActive(leaseId, state);
        if (msg.sender != l.tenant && msg.sender != l.provider) revert NotLeaseParty(msg.sender);

        uint256 accrued = _accrued(l);
        l.closedAt = uint64(block.timestamp);
        l.closed = true;
        uint256 refund = l.deposited - accrued;
        emit LeaseClosed(leaseId, msg.sender, accrued - l.paid, refund, state == LeaseState.Insolvent);

        if (refund == 0) return;
        if (msg.sender == l.tenant) {
            l.token.safeTransfer(l.tenant, refund);
        } else {
            _refunds[l.tenant][address(l.token)] += refund;
        }
    }

    /// @notice The tenant collects refunds of leases that providers closed.
    function claimRefund(IERC20 token) external nonReentrant returns (uint256 amount) {
        amount = _refunds[msg.sender][address(token)];
        if (amount == 0) revert NothingToClaim(msg.sender, address(token));
        _refunds[msg.sender][address(token)] = 0;
        emit RefundClaimed(msg.sender, address(token), amount);
        token.safeTransfer(msg.sender, amount);
    }

    function getLease(uint256 leaseId) external view returns (Lease memory) {
        return _leases[leaseId];
    }

    function leaseBalance(uint256 leaseId) external view returns (LeaseBalance memory balance) {
        Lease storage l = _lease(leaseId);
        balance.state = _state(l);
        balance.accrued = _accrued(l);
        balance.withdrawable = balance.accrued - l.paid;
        balance.remaining = l.deposited - balance.accrued;
        balance.runsOutAt = _runsOutAt(l);
    }

    function refundOf(address tenant, IERC20 token) external view returns (uint256) {
        return _refunds[tenant][address(token)];
    }

    // ----------------------------------------------------------------- internals

    function _registered(address provider) private view returns (Provider storage p) {
        p = _providers[provider];
        if (!p.registered) revert ProviderNotRegistered(provider);
    }

    function _openOrder(uint256 orderId) private view returns (Order storage o) {
        o = _orders[orderId];
        if (o.state == OrderState.None) revert OrderNotFound(orderId);
        if (o.state != OrderState.Open) revert OrderNotOpen(orderId, o.state);
    }

    function _bid(uint256 bidId) private view returns (Bid storage b) {
        b = _bids[bidId];
        if (b.state == BidState.None) revert BidNotFound(bidId);
    }

    function _lease(uint256 leaseId) private view returns (Lease storage l) {
        l = _leases[leaseId];
        if (l.startedAt == 0) revert LeaseNotFound(leaseId);
    }

    /// @dev Marks the accepted bids won and sums their replicas and hourly rates.
    function _takeBids(uint256 orderId, uint256[] calldata bidIds, uint32[] calldata replicas)
        private
        returns (uint32 total, uint256 totalRate)
    {
        for (uint256 i = 0; i < bidIds.length; i++) {
            Bid storage b = _bid(bidIds[i]);
            if (b.orderId != orderId) revert BidNotForOrder(bidIds[i], orderId);
            if (b.state != BidState.Open) revert BidNotOpen(bidIds[i], b.state);
            if (replicas[i] == 0 || replicas[i] > b.replicas) revert ReplicasOutOfRange(replicas[i], b.replicas);
            b.state = BidState.Won;
            total += replicas[i];
            totalRate += b.pricePerHour * replicas[i];
        }
    }

    /// @dev Opens a lease per accepted bid. The deposit is shared in proportion to the hourly rates and
    /// the last lease takes the rounding remainder, so that the shares add up to the deposit exactly.
    function _openLeases(
        Order storage o,
        uint256 orderId,
        uint256[] calldata bidIds,
        uint32[] calldata replicas,
        uint256 totalRate
    ) private returns (uint256[] memory leaseIds) {
        leaseIds = new uint256[](bidIds.length);
        uint256 shared;
        for (uint256 i = 0; i < bidIds.length; i++) {
            uint256 share = i + 1 == bidIds.length
                ? o.deposit - shared
                : (o.deposit * _bids[bidIds[i]].pricePerHour * replicas[i]) / totalRate;
            shared += share;
            leaseIds[i] = _createLease(o, orderId, bidIds[i], replicas[i], share);
        }
    }

    function _createLease(Order storage o, uint256 orderId, uint256 bidId, uint32 replicas, uint256 share)
        private
        returns (uint256 leaseId)
    {
        Bid storage b = _bids[bidId];
        uint256 rate = b.pricePerHour * replicas;
        leaseId = ++leaseCount;
        _leases[leaseId] = Lease({
            orderId: orderId,
            bidId: bidId,
            tenant: o.tenant,
            provider: b.provider,
            token: o.token,
            ratePerHour: rate,
            replicas: replicas,
            startedAt: uint64(block.timestamp),
            closedAt: 0,
            deposited: share,
            paid: 0,
            closed: false
        });
        _orderLeases[orderId].push(leaseId);
        emit LeaseCreated(leaseId, orderId, b.provider, bidId, o.tenant, rate, share);
    }

    function _loseOpenBids(uint256 orderId) private {
        uint256[] storage ids = _orderBids[orderId];
        for (uint256 i = 0; i < ids.length; i++) {
            Bid storage b = _bids[ids[i]];
            if (b.state == BidState.Open) {
                b.state = BidState.Lost;
                emit BidLost(orderId, ids[i]);
            }
        }
    }

    function _state(Lease storage l) private view returns (LeaseState) {
        if (l.closed) return LeaseState.Closed;
        if (block.timestamp >= _runsOutAt(l)) return LeaseState.Insolvent;
        return LeaseState.Active;
    }

    /// @dev Payment earned from the start until now (or the close), never more than the escrow.
    function _accrued(Lease storage l) private view returns (uint256) {
        uint256 end = l.closed ? l.closedAt : block.timestamp;
        uint256 earned = (l.ratePerHour * (end - l.startedAt)) / SECONDS_PER_HOUR;
        return earned < l.deposited ? earned : l.deposited;
    }

    /// @dev The first second at which the accrual reaches the escrow.
    function _runsOutAt(Lease storage l) private view returns (uint64) {
        uint256 secondsFunded = (l.deposited * SECONDS_PER_HOUR + l.ratePerHour - 1) / l.ratePerHour;
        return uint64(l.startedAt + secondsFunded);
    }

    /// @dev Takes `amount` from the caller and insists on receiving all of it.
    function _pull(IERC20 token, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(address(token), amount, received);
    }
}
