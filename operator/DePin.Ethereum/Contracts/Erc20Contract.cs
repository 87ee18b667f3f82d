using System.Numerics;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;

namespace DePin.Ethereum.Contracts;

/// <summary>An ERC-20 token, typed: the payment token of the market.</summary>
/// <param name="address">The token's address.</param>
/// <param name="client">The node.</param>
/// <param name="sender">Signs transactions; null for read-only use.</param>
public class Erc20Contract(Address address, IEthereumClient client, TransactionSender? sender)
    : Contract(TestStablecoin, address, client, sender)
{
    /// <summary>The compiled <c>TestStablecoin</c> (6 decimals, minted by its deployer) embedded in this assembly; its ABI covers ERC-20.</summary>
    public static ContractArtifact TestStablecoin { get; } = ContractArtifact.Embedded("TestStablecoin");

    /// <summary>Deploys a TestStablecoin, for tests and the demo.</summary>
    /// <param name="sender">Pays for the deployment and becomes the only minter.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The token, bound to <paramref name="sender"/>.</returns>
    public static async Task<Erc20Contract> DeployTestStablecoinAsync(TransactionSender sender, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var (address, _) = await DeployAsync(TestStablecoin, sender, [], cancellationToken).ConfigureAwait(false);
        return new Erc20Contract(address, sender.Client, sender);
    }

    /// <summary>The same token with another signer.</summary>
    /// <param name="signer">The signer.</param>
    /// <returns>The binding.</returns>
    public Erc20Contract As(TransactionSender signer) => new(Address, Client, signer) { Confirmations = Confirmations };

    /// <summary>A balance.</summary>
    /// <param name="owner">The account.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>Token units.</returns>
    public async Task<BigInteger> BalanceOfAsync(Address owner, CancellationToken cancellationToken = default) =>
        (BigInteger)(await CallAsync("balanceOf", [owner], cancellationToken).ConfigureAwait(false))[0]!;

    /// <summary>The token's decimals.</summary>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>For example 6.</returns>
    public async Task<int> DecimalsAsync(CancellationToken cancellationToken = default) =>
        (int)(BigInteger)(await CallAsync("decimals", [], cancellationToken).ConfigureAwait(false))[0]!;

    /// <summary>Allows a spender to take up to an amount.</summary>
    /// <param name="spender">The spender, such as the market.</param>
    /// <param name="amount">Token units.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> ApproveAsync(Address spender, BigInteger amount, CancellationToken cancellationToken = default) =>
        SendAsync("approve", [spender, amount], cancellationToken);

    /// <summary>Sends tokens.</summary>
    /// <param name="to">The recipient.</param>
    /// <param name="amount">Token units.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> TransferAsync(Address to, BigInteger amount, CancellationToken cancellationToken = default) =>
        SendAsync("transfer", [to, amount], cancellationToken);

    /// <summary>Mints TestStablecoin (only its deployer may).</summary>
    /// <param name="to">The recipient.</param>
    /// <param name="amount">Token units.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> MintAsync(Address to, BigInteger amount, CancellationToken cancellationToken = default) =>
        SendAsync("mint", [to, amount], cancellationToken);
}
