using System.Net;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Coap;

/// <summary>A CoAP client on its own endpoint: requests with <see cref="SendAsync"/>.</summary>
public sealed partial class CoapClient : IAsyncDisposable
{
    private readonly CoapEndpoint _endpoint;

    /// <summary>A client on <paramref name="channel"/>, which it owns and disposes.</summary>
    public CoapClient(IDatagramChannel channel, CoapClientOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        Options = options ?? new CoapClientOptions();
        if (Options.BlockSize is { } size)
        {
            _ = BlockOption.SizeToExponent(size);
        }

        _endpoint = new CoapEndpoint(channel, Options.Endpoint, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<CoapEndpoint>(), timeProvider);
        _endpoint.Start();
    }

    public CoapClientOptions Options { get; }

    /// <summary>The client's endpoint (for observing and lower-level exchanges).</summary>
    public CoapEndpoint Endpoint => _endpoint;

    /// <summary>
    /// Sends <paramref name="request"/> to <paramref name="remote"/> and returns the response. A CON
    /// is retransmitted until acknowledged; a separate response is awaited. Bodies too large for one
    /// message go block-wise both ways (RFC 7959), and the response comes back whole, without Block2.
    /// </summary>
    /// <exception cref="CoapProtocolException">Reset, timeout, or a protocol violation by the server.</exception>
    public Task<CoapMessage> SendAsync(CoapMessage request, EndPoint remote, CancellationToken cancellationToken)
        => SendBlockWiseAsync(request, remote, cancellationToken);

    public ValueTask DisposeAsync() => _endpoint.DisposeAsync();
}
