using System.Net;
using System.Runtime.CompilerServices;

namespace CoapEnroll.Coap;

public sealed partial class CoapClient
{
    /// <summary>
    /// Observes a resource (RFC 7641 §3): sends <paramref name="request"/> (GET or FETCH) with Observe 0
    /// and yields the response, then each notification that is fresher than the last one yielded
    /// (§3.4: stale, reordered notifications are dropped). Ends after a response without an Observe
    /// option: the first one when the server did not register the client (§4.1), or a non-2.xx
    /// notification that ends the observation (§3.2). Stopping the enumeration (cancellation or
    /// disposal) forgets the token, so later notifications are answered with Reset, and deregisters
    /// with a GET carrying Observe 1 (§3.6), best effort within a short timeout.
    /// </summary>
    /// <exception cref="CoapProtocolException">The registration was reset or not answered in time.</exception>
    public async IAsyncEnumerable<CoapMessage> ObserveAsync(CoapMessage request, EndPoint remote, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(remote);
        if (request.Code != CoapCode.Get && request.Code != CoapCode.Fetch)
        {
            throw new ArgumentException("Only GET and FETCH requests can observe (RFC 7641 §2, RFC 8132).", nameof(request));
        }

        var exchange = _endpoint.OpenExchange(request.SetUInt(CoapOptionNumber.Observe, 0), remote);
        bool registered = false;
        try
        {
            await exchange.SendAsync(cancellationToken);
            var first = await exchange.ReadResponseAsync(cancellationToken);

            // §3.1: only a 2.xx response with Observe means the client is on the list of observers.
            registered = first.Code.IsSuccess && first.Observe is not null;
            yield return first;
            if (!registered)
            {
                yield break;
            }

            var time = _endpoint.TimeProvider;
            uint freshest = first.Observe!.Value;
            long freshestAt = time.GetTimestamp();
            await foreach (var notification in exchange.ReadAllResponsesAsync(cancellationToken))
            {
                long now = time.GetTimestamp();
                if (!notification.Code.IsSuccess || notification.Observe is not uint value)
                {
                    // §3.2: a notification without Observe (such as 4.04 after deletion) ends the observation.
                    registered = false;
                    yield return notification;
                    yield break;
                }

                if (!ObserveSequence.IsFresher(freshest, value, time.GetElapsedTime(freshestAt, now)))
                {
                    continue;
                }

                freshest = value;
                freshestAt = now;
                yield return notification;
            }
        }
        finally
        {
            // Closing the exchange first makes the endpoint reset further notifications (§3.6).
            await exchange.DisposeAsync();
            if (registered)
            {
                await DeregisterAsync(exchange.Request, remote);
            }
        }
    }

    /// <summary>
    /// §3.6: a GET with the registration's token and options and Observe 1 removes the entry at once
    /// rather than at the next notification. Best effort: failures and timeouts are ignored.
    /// </summary>
    private async Task DeregisterAsync(CoapMessage registration, EndPoint remote)
    {
        var timeout = _endpoint.Options.AckTimeout * 2;
        using var cts = new CancellationTokenSource(timeout, _endpoint.TimeProvider);
        try
        {
            await using var exchange = _endpoint.OpenExchange(registration.SetUInt(CoapOptionNumber.Observe, 1), remote);
            await exchange.SendAsync(cts.Token);
            await exchange.ReadResponseAsync(cts.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or CoapProtocolException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
