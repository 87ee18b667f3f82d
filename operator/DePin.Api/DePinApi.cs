namespace DePin.Api;

/// <summary>Names of the <c>depin.dev</c> API that users type and other tools match on.</summary>
public static class DePinApi
{
    /// <summary>The API group of every custom resource of the project.</summary>
    public const string Group = "depin.dev";

    /// <summary>The served and stored version.</summary>
    public const string Version = "v1alpha1";

    /// <summary><c>group/version</c>, the <c>apiVersion</c> of every custom resource.</summary>
    public const string GroupVersion = Group + "/" + Version;

    /// <summary>The <c>kubectl get</c> category that lists all kinds of the project.</summary>
    public const string Category = "depin";
}

/// <summary>Regular expressions shared by the schema of several kinds.</summary>
public static class Patterns
{
    /// <summary>A non-negative decimal amount of the payment token, for example <c>1.25</c>.</summary>
    public const string Amount = "^(0|[1-9][0-9]{0,17})(\\.[0-9]{1,18})?$";

    /// <summary>A strictly positive decimal amount of the payment token.</summary>
    public const string PositiveAmount = "^([1-9][0-9]{0,17}(\\.[0-9]{1,18})?|0\\.[0-9]*[1-9][0-9]*)$";

    /// <summary>A 20-byte Ethereum address in hex with the <c>0x</c> prefix, any letter case.</summary>
    public const string Address = "^0x[0-9a-fA-F]{40}$";

    /// <summary>A value that is also a valid Kubernetes label value (provider ids, regions, GPU models).</summary>
    public const string LabelValue = "^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

    /// <summary>A DNS-1123 subdomain: the name of another Kubernetes object.</summary>
    public const string ObjectName = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    /// <summary>An http or https URL.</summary>
    public const string HttpUrl = "^https?://[^\\s/?#]+[^\\s]*$";

    /// <summary>A decimal unsigned integer, such as an on-chain id (uint256 does not fit a JSON number).</summary>
    public const string UnsignedInteger = "^(0|[1-9][0-9]{0,77})$";
}

/// <summary>Condition types set on DePinDeployment, DePinLease and DePinMarketplace status.</summary>
public static class ConditionTypes
{
    /// <summary>The resource does what its spec asks; derived from the others (kstatus).</summary>
    public const string Ready = "Ready";

    /// <summary>Leases are open for the replicas that should run on providers.</summary>
    public const string Leased = "Leased";

    /// <summary>Every active lease meets the SLA.</summary>
    public const string SlaHealthy = "SLAHealthy";

    /// <summary>Some replicas run on cloud nodes instead of providers.</summary>
    public const string FallbackActive = "FallbackActive";

    /// <summary>The controller is working towards the spec (kstatus).</summary>
    public const string Reconciling = "Reconciling";

    /// <summary>The controller cannot make progress without a change to the spec (kstatus).</summary>
    public const string Stalled = "Stalled";
}
