// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

interface ITokenReceiver {
    function onTokensReceived(uint256 amount) external;
}

/// @notice A hostile token for tests: every transfer to a contract calls that contract back in the
/// middle of the transfer, the way ERC-777 hooks do, so the receiver can try to re-enter the market.
contract ReentrantToken is ERC20 {
    event HookFailed(address receiver);

    constructor() ERC20("Reentrant Token", "RENT") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to.code.length > 0) {
            // Receivers without the hook (the market itself) simply do not answer.
            (bool ok,) = to.call(abi.encodeCall(ITokenReceiver.onTokensReceived, (value)));
            if (!ok) emit HookFailed(to);
        }
    }
}

interface IMarket {
    function registerProvider(string calldata endpoint, string calldata region, string calldata attributes) external;
    function bid(uint256 orderId, uint256 pricePerHour, uint32 replicas) external returns (uint256);
    function withdraw(uint256 leaseId) external returns (uint256);
    function close(uint256 leaseId) external;
}

/// @notice A provider contract that, when paid, re-enters the market to be paid again.
contract ReentrantProvider is ITokenReceiver {
    IMarket public immutable market;
    address public immutable token;
    uint256 public leaseId;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;

    constructor(IMarket market_, address token_) {
        market = market_;
        token = token_;
    }

    function register() external {
        market.registerProvider("https://attacker.invalid", "xx", "");
    }

    function bid(uint256 orderId, uint256 pricePerHour, uint32 replicas) external {
        market.bid(orderId, pricePerHour, replicas);
    }

    function withdraw(uint256 leaseId_) external {
        leaseId = leaseId_;
        market.withdraw(leaseId_);
    }

    function onTokensReceived(uint256) external {
        if (msg.sender != token || reentryAttempts >= 3) return;
        reentryAttempts++;
        try market.withdraw(leaseId) {
            reentrySuccesses++;
        } catch {}
        try market.close(leaseId) {
            reentrySuccesses++;
        } catch {}
    }
}

/// @notice A token that keeps 1% of every transfer, which the market must refuse.
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee Token", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value / 100;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
