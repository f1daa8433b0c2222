namespace CoapEnroll.Dtls;

/// <summary>
/// How many of something each source address holds, by <see cref="HandshakeAdmission.AddressKey"/>; an address whose count
/// falls to 0 is forgotten, so the table holds only addresses with something. Not thread-safe: the server channel uses it
/// under its table lock.
/// </summary>
internal sealed class AddressCounts
{
    private readonly Dictionary<UInt128, int> _counts = [];

    /// <summary>The count of <paramref name="key"/> (0 when it holds nothing).</summary>
    public int this[UInt128 key] => _counts.GetValueOrDefault(key);

    public void Increment(UInt128 key) => _counts[key] = _counts.GetValueOrDefault(key) + 1;

    /// <summary>Gives back the table's memory after a peak (<see cref="SparseTables"/>).</summary>
    public void TrimIfSparse(int minimumCapacity) => SparseTables.TrimIfSparse(_counts, minimumCapacity);

    public void Decrement(UInt128 key)
    {
        int left = _counts[key] - 1;
        if (left == 0)
        {
            _counts.Remove(key);
        }
        else
        {
            _counts[key] = left;
        }
    }
}
