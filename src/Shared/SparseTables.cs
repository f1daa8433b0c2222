namespace CoapEnroll;

/// <summary>
/// Gives a table's memory back after a peak. <see cref="Dictionary{TKey, TValue}"/> and <see cref="HashSet{T}"/> keep the arrays of
/// their largest size until <c>TrimExcess</c>: after 100,000 peers have come and gone, a table of them holds megabytes for the rest
/// of the process. A table is trimmed to twice its count once it is less than a quarter full, so that one that shrinks and grows
/// again is not rehashed back and forth. Compiled into each assembly that keeps per-peer tables (linked source, as the .NET
/// runtime's Common folder is), since the DTLS and CoAP layers share no assembly but the transport.
/// </summary>
internal static class SparseTables
{
    /// <summary>Tables below this capacity are left as they are: their arrays are small.</summary>
    public const int DefaultMinimumCapacity = 1024;

    /// <summary>Trims <paramref name="table"/> when it is at least <paramref name="minimumCapacity"/> large and less than a quarter full.</summary>
    public static void TrimIfSparse<TKey, TValue>(Dictionary<TKey, TValue> table, int minimumCapacity)
        where TKey : notnull
    {
        int capacity = table.EnsureCapacity(0);
        if (IsSparse(table.Count, capacity, minimumCapacity))
        {
            table.TrimExcess(table.Count * 2);
        }
    }

    /// <inheritdoc cref="TrimIfSparse{TKey, TValue}(Dictionary{TKey, TValue}, int)"/>
    public static void TrimIfSparse<T>(HashSet<T> table, int minimumCapacity)
    {
        int capacity = table.EnsureCapacity(0);
        if (IsSparse(table.Count, capacity, minimumCapacity))
        {
            table.TrimExcess(table.Count * 2);
        }
    }

    private static bool IsSparse(int count, int capacity, int minimumCapacity) =>
        capacity >= minimumCapacity && count < capacity / 4;
}
