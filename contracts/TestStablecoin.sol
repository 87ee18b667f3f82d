// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestStablecoin
/// @notice A dollar-like ERC-20 with 6 decimals for tests and the demo. Only its deployer mints.
contract TestStablecoin is ERC20 {
    address public immutable minter;

    error NotMinter(address caller);

    constructor() ERC20("Test Stablecoin", "TUSD") {
        minter = msg.sender;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
