using System.Reflection;
using System.Text.Json;
using DePin.Ethereum.Abi;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;

namespace DePin.Ethereum.Contracts;

/// <summary>A compiled contract: its ABI and creation code, as <c>hack/solc/compile.js</c> writes them.</summary>
/// <param name="Name">The contract's name.</param>
/// <param name="Abi">Its ABI.</param>
/// <param name="Bytecode">Its creation code.</param>
public sealed record ContractArtifact(string Name, ContractAbi Abi, byte[] Bytecode)
{
    /// <summary>Reads an artifact.</summary>
    /// <param name="json">The artifact's JSON.</param>
    /// <returns>The artifact.</returns>
    /// <exception cref="FormatException">It is not an artifact.</exception>
    public static ContractArtifact Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        try
        {
            return new ContractArtifact(
                root.GetProperty("contractName").GetString() ?? "",
                ContractAbi.Parse(root.GetProperty("abi")),
                Hex.Decode(root.GetProperty("bytecode").GetString() ?? ""));
        }
        catch (KeyNotFoundException e)
        {
            throw new FormatException("a contract artifact has contractName, abi and bytecode", e);
        }
    }

    /// <summary>Reads an artifact file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The artifact.</returns>
    public static ContractArtifact Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>The creation code followed by the encoded constructor arguments.</summary>
    /// <param name="arguments">One value per constructor parameter.</param>
    /// <returns>The deployment data.</returns>
    public byte[] DeploymentData(params object?[] arguments) =>
        [.. Bytecode, .. AbiCodec.Encode([.. Abi.ConstructorInputs.Select(p => p.Type)], arguments)];

    internal static ContractArtifact Embedded(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"DePin.Ethereum.Contracts.{name}.json")
            ?? throw new InvalidOperationException($"the {name} artifact is not embedded");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }
}

/// <summary>
/// A deployed contract: read-only calls through <c>eth_call</c>, state changes through a
/// <see cref="TransactionSender"/>. A revert, whether at gas estimation or in a mined transaction, throws
/// <see cref="ContractRevertException"/> with the contract's custom error decoded.
/// </summary>
public class Contract
{
    /// <summary>Binds a contract at an address.</summary>
    /// <param name="artifact">Its ABI.</param>
    /// <param name="address">Its address.</param>
    /// <param name="client">The node.</param>
    /// <param name="sender">Signs its transactions; null for read-only use.</param>
    public Contract(ContractArtifact artifact, Address address, IEthereumClient client, TransactionSender? sender)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        Artifact = artifact;
        Address = address;
        Client = client ?? throw new ArgumentNullException(nameof(client));
        Sender = sender;
    }

    /// <summary>The compiled contract.</summary>
    public ContractArtifact Artifact { get; }

    /// <summary>Its ABI.</summary>
    public ContractAbi Abi => Artifact.Abi;

    /// <summary>Its address.</summary>
    public Address Address { get; }

    /// <summary>The node.</summary>
    public IEthereumClient Client { get; }

    /// <summary>The signer of transactions, if any.</summary>
    public TransactionSender? Sender { get; }

    /// <summary>Confirmations awaited after each transaction. Default 1 (mined).</summary>
    public int Confirmations { get; init; } = 1;

    /// <summary>A fixed gas limit for transactions, or null (the default) to estimate each one.</summary>
    public System.Numerics.BigInteger? GasLimit { get; init; }

    /// <summary>Deploys a contract and waits for it.</summary>
    /// <param name="artifact">The compiled contract.</param>
    /// <param name="sender">Pays for and signs the deployment.</param>
    /// <param name="arguments">The constructor arguments.</param>
    /// <param name="cancellationToken">Cancels the deployment.</param>
    /// <returns>The contract's address and the receipt.</returns>
    public static async Task<(Address Address, TransactionReceipt Receipt)> DeployAsync(ContractArtifact artifact, TransactionSender sender, object?[] arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(sender);
        try
        {
            var receipt = await sender.SendAndWaitAsync(new TransactionRequest(null, artifact.DeploymentData(arguments)), 1, cancellationToken).ConfigureAwait(false);
            return (receipt.ContractAddress ?? throw new InvalidOperationException($"the deployment of {artifact.Name} created no contract"), receipt);
        }
        catch (JsonRpcException e) when (e.IsRevert)
        {
            throw new ContractRevertException(artifact.Name, "constructor", artifact.Abi.DecodeError(e.RevertData()), e.RevertData(), e);
        }
    }

    /// <summary>Calls a view function.</summary>
    /// <param name="function">The function's name.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <returns>Its return values.</returns>
    public Task<object?[]> CallAsync(string function, params object?[] arguments) => CallAsync(function, arguments, CancellationToken.None);

    /// <summary>Calls a view function.</summary>
    /// <param name="function">The function's name.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Its return values.</returns>
    /// <exception cref="ContractRevertException">It reverted.</exception>
    public async Task<object?[]> CallAsync(string function, object?[] arguments, CancellationToken cancellationToken)
    {
        var abi = Abi.Function(function, arguments?.Length);
        try
        {
            var result = await Client.CallAsync(new CallRequest(Sender?.From, Address, abi.EncodeCall(arguments!)), null, cancellationToken).ConfigureAwait(false);
            return abi.DecodeOutput(result);
        }
        catch (JsonRpcException e) when (e.IsRevert)
        {
            throw Revert(function, e.RevertData(), e);
        }
    }

    /// <summary>Sends a transaction calling a function and waits for <see cref="Confirmations"/>.</summary>
    /// <param name="function">The function's name.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="cancellationToken">Cancels the send and the wait.</param>
    /// <returns>The receipt.</returns>
    /// <exception cref="ContractRevertException">It reverted, at estimation or once mined.</exception>
    public async Task<TransactionReceipt> SendAsync(string function, object?[] arguments, CancellationToken cancellationToken = default)
    {
        var sender = Sender ?? throw new InvalidOperationException($"{Artifact.Name} is bound without a key; it can only be read");
        var data = Abi.Function(function, arguments?.Length).EncodeCall(arguments!);
        try
        {
            return await sender.SendAndWaitAsync(new TransactionRequest(Address, data, GasLimit: GasLimit), Confirmations, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonRpcException e) when (e.IsRevert)
        {
            throw Revert(function, e.RevertData(), e);
        }
        catch (TransactionFailedException e) when (e.Receipt is { } receipt)
        {
            // Replay the call on the state before its block to learn why it reverted.
            byte[] revertData = [];
            try
            {
                await Client.CallAsync(new CallRequest(sender.From, Address, data), receipt.BlockNumber - 1, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonRpcException replay) when (replay.IsRevert)
            {
                revertData = replay.RevertData();
            }

            throw Revert(function, revertData, e);
        }
    }

    /// <summary>Decodes the logs this contract emitted in a receipt.</summary>
    /// <param name="receipt">The receipt.</param>
    /// <param name="eventName">Only this event, or null for all.</param>
    /// <returns>The events' values by parameter name.</returns>
    public IEnumerable<IReadOnlyDictionary<string, object?>> Events(TransactionReceipt receipt, string eventName)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        var abi = Abi.Event(eventName);
        return receipt.Logs
            .Where(l => l.Address == Address && l.Topics.Count > 0 && l.Topics[0].AsSpan().SequenceEqual(abi.Topic.Span))
            .Select(l => abi.Decode(l.Topics, l.Data));
    }

    private ContractRevertException Revert(string function, byte[] data, Exception cause) =>
        new(Artifact.Name, function, Abi.DecodeError(data), data, cause);
}

/// <summary>A contract call reverted; <see cref="ErrorName"/> names the custom error.</summary>
public sealed class ContractRevertException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ContractRevertException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public ContractRevertException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public ContractRevertException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="contract">The contract's name.</param>
    /// <param name="function">The function called.</param>
    /// <param name="error">The decoded error, or null when the data matched none.</param>
    /// <param name="revertData">The raw revert data.</param>
    /// <param name="innerException">The RPC error or failed receipt.</param>
    public ContractRevertException(string contract, string function, DecodedError? error, byte[] revertData, Exception? innerException)
        : base($"{contract}.{function} reverted: {error?.ToString() ?? (revertData is { Length: > 0 } ? "unknown error " + Hex.Encode(revertData) : "no reason given")}", innerException)
    {
        Contract = contract;
        Function = function;
        Error = error;
        RevertData = revertData ?? [];
    }

    /// <summary>The contract's name.</summary>
    public string Contract { get; } = "";

    /// <summary>The function called.</summary>
    public string Function { get; } = "";

    /// <summary>The decoded error, or null.</summary>
    public DecodedError? Error { get; }

    /// <summary>The custom error's name, for example <c>PriceAboveMaximum</c>, or null.</summary>
    public string? ErrorName => Error?.Name;

    /// <summary>The raw revert data.</summary>
    public IReadOnlyList<byte> RevertData { get; } = [];
}
