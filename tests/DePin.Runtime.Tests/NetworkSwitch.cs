namespace DePin.Runtime.Tests;

/// <summary>Cuts one client off from the API server, as a network partition or a frozen process would.</summary>
internal sealed class NetworkSwitch : DelegatingHandler
{
    private volatile bool _down;

    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _down ? throw new HttpRequestException("network down") : base.SendAsync(request, cancellationToken);
}
