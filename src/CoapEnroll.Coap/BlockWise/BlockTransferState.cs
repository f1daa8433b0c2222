using System.Buffers;
using System.Net;

namespace CoapEnroll.Coap;

/// <summary>A request body being reassembled from Block1 blocks (RFC 7959 §2.5).</summary>
internal sealed class Block1Reassembly(BlockTransferKey key, BlockSource source, CoapOptionCollection firstOptions, int? contentFormat, long now)
{
    public BlockTransferKey Key { get; } = key;

    public BlockPeerKey Peer => BlockPeerKey.From(Key);

    /// <summary>The source address and class the transfer is charged to, as they were when it started.</summary>
    public BlockSource Source { get; } = source;

    /// <summary>The options of block 0 without the block-wise ones; they become the reassembled request's options.</summary>
    public CoapOptionCollection FirstOptions { get; } = firstOptions;

    public int? ContentFormat { get; } = contentFormat;

    public ArrayBufferWriter<byte> Body { get; } = new();

    public int Received => Body.WrittenCount;

    public long LastAccess { get; set; } = now;

    /// <summary>The neighbours in the <see cref="ReassemblyBudget"/>'s list by last activity.</summary>
    public Block1Reassembly? Older { get; set; }

    public Block1Reassembly? Newer { get; set; }
}

/// <summary>
/// The complete response of an operation whose body is served in Block2 blocks, kept so that later
/// blocks come from the same representation and a non-idempotent handler runs once (RFC 7959 §2.4
/// "the server MAY cache the current value of a representation for an ongoing sequence of requests").
/// For an operation that arrived with Block1 it also remembers the final block, so that the same final
/// block sent again in a new message is answered from here instead of running the handler twice.
/// </summary>
internal sealed class CachedBlockResponse(BlockTransferKey key, Task<CoapMessage> response, long now)
{
    public BlockTransferKey Key { get; } = key;

    public Task<CoapMessage> Response { get; } = response;

    public long LastAccess { get; set; } = now;

    /// <summary>Payload bytes charged to the cache once the response is known.</summary>
    public long Bytes { get; set; }

    /// <summary>Set while the inner handler still has to produce the response.</summary>
    public TaskCompletionSource<CoapMessage>? Completion { get; init; }

    public BlockOption? FinalBlock1 { get; init; }

    public byte[]? FinalBlock1Payload { get; init; }
}

/// <summary>
/// The outcome of taking one Block1 block: a reply, or the final block's response entry (to run or to replay). A reply that a
/// reassembly bound caused names the bound and the refused peer's source, to be reported once the lock is released.
/// </summary>
internal readonly record struct Block1Step(CoapMessage? Reply, CachedBlockResponse? Entry, TaskCompletionSource<CoapMessage>? Completion,
    CoapOptionCollection InnerOptions, ReadOnlyMemory<byte> Body, ReassemblyBound Bound = ReassemblyBound.None, BlockSource Source = default)
{
    public static Block1Step Replying(CoapMessage reply) => new(reply, null, null, CoapOptionCollection.Empty, default);

    public static Block1Step Refusing(CoapMessage reply, ReassemblyBound bound, BlockSource source) =>
        new(reply, null, null, CoapOptionCollection.Empty, default, bound, source);

    public static Block1Step Replaying(CachedBlockResponse entry) => new(null, entry, null, CoapOptionCollection.Empty, default);

    public static Block1Step Running(CachedBlockResponse entry, CoapOptionCollection options, ReadOnlyMemory<byte> body)
        => new(null, entry, entry.Completion, options, body);
}

/// <summary>What one peer (on one endpoint) has cached, for the per-peer bounds of the response cache.</summary>
internal sealed class BlockPeerUsage
{
    public List<CachedBlockResponse> Cached { get; } = [];

    public long CachedBytes { get; set; }

    public bool IsEmpty => Cached.Count == 0;
}

/// <summary>A peer as seen by one endpoint: UDP addresses of two endpoints are different peers.</summary>
internal readonly record struct BlockPeerKey(CoapEndpoint Endpoint, EndPoint Peer)
{
    public static BlockPeerKey From(BlockTransferKey key) => new(key.Endpoint, key.Peer);
}
