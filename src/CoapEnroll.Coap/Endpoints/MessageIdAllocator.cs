using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;

namespace CoapEnroll.Coap;

/// <summary>
/// Hands out message IDs per peer so that none is reused with that peer within EXCHANGE_LIFETIME
/// (RFC 7252 §4.4). Each peer counts up from a random start; the 65536 IDs are tracked in 16
/// groups of 4096, and a group is entered again only when its previous use began more than
/// EXCHANGE_LIFETIME ago. Past roughly 250 messages a second to one peer the caller waits instead
/// of reusing an ID the peer still holds in its duplicate cache (which would make it replay an old
/// reply). 16 timestamps per peer keep the state small; idle peers are forgotten by <see cref="Sweep"/>.
/// </summary>
internal sealed class MessageIdAllocator
{
    private const int GroupShift = 12;
    private const int GroupCount = 1 << (16 - GroupShift);

    private readonly ConcurrentDictionary<EndPoint, PeerState> _peers = new();
    private readonly TimeProvider _time;
    private readonly long _lifetimeTicks;

    public MessageIdAllocator(TimeProvider time, TimeSpan exchangeLifetime)
    {
        _time = time;
        _lifetimeTicks = (long)(exchangeLifetime.TotalSeconds * time.TimestampFrequency);
    }

    public int PeerCount => _peers.Count;

    /// <summary>A fresh ID for <paramref name="peer"/>, or false with how long until one is free.</summary>
    public bool TryAllocate(EndPoint peer, out ushort messageId, out TimeSpan retryAfter)
    {
        var state = _peers.GetOrAdd(peer, static _ => new PeerState(RandomNumberGenerator.GetInt32(ushort.MaxValue + 1)));
        long now = _time.GetTimestamp();
        lock (state)
        {
            state.LastUsed = now;
            int next = state.Next;
            int group = next >> GroupShift;
            bool entersGroup = (next & ((1 << GroupShift) - 1)) == 0 || state.GroupStarted[group] == 0;
            if (entersGroup)
            {
                long started = state.GroupStarted[group];
                if (started != 0 && now - started < _lifetimeTicks)
                {
                    messageId = 0;
                    retryAfter = TimeSpan.FromSeconds((double)(_lifetimeTicks - (now - started)) / _time.TimestampFrequency);
                    return false;
                }

                // The group's previous use is over; its start is the oldest moment any of its IDs went out.
                state.GroupStarted[group] = now == 0 ? 1 : now;
            }

            messageId = (ushort)next;
            state.Next = (next + 1) & 0xFFFF;
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    /// <summary>Forgets peers with no message for EXCHANGE_LIFETIME: every ID they were given is free again.</summary>
    public void Sweep(long now)
    {
        foreach (var pair in _peers)
        {
            if (now - Volatile.Read(ref pair.Value.LastUsed) > _lifetimeTicks)
            {
                _peers.TryRemove(pair);
            }
        }
    }

    private sealed class PeerState(int start)
    {
        public readonly long[] GroupStarted = new long[GroupCount];
        public int Next = start;
        public long LastUsed;
    }
}
