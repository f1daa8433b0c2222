using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace CoapEnroll.Hosting;

/// <summary>
/// Kestrel connection middleware that bounds the connections one peer (remote IP address) holds open at once; beyond the bound a new
/// connection is closed as soon as it is accepted, before TLS or HTTP. Kestrel's own <c>MaxConcurrentConnections</c> is the global
/// bound; this keeps one peer from taking all of it.
/// </summary>
internal sealed class PerPeerConnectionLimit
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();
    private readonly int _limit;

    public PerPeerConnectionLimit(int limit)
    {
        _limit = limit;
    }

    /// <summary>Peers currently holding at least one connection (for tests).</summary>
    public int PeerCount => _open.Count;

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        if (connection.RemoteEndPoint is not IPEndPoint { Address: var address })
        {
            await next(connection);
            return;
        }

        IPAddress peer = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (!TryEnter(peer))
        {
            // Returning closes the connection: the peer sees it closed without an answer.
            return;
        }

        try
        {
            await next(connection);
        }
        finally
        {
            Leave(peer);
        }
    };

    private bool TryEnter(IPAddress peer)
    {
        while (true)
        {
            if (_open.TryGetValue(peer, out int count))
            {
                if (count >= _limit)
                {
                    return false;
                }

                if (_open.TryUpdate(peer, count + 1, count))
                {
                    return true;
                }
            }
            else if (_open.TryAdd(peer, 1))
            {
                return true;
            }
        }
    }

    private void Leave(IPAddress peer)
    {
        while (true)
        {
            int count = _open[peer];
            if (count == 1 ? _open.TryRemove(new KeyValuePair<IPAddress, int>(peer, 1)) : _open.TryUpdate(peer, count - 1, count))
            {
                return;
            }
        }
    }
}
