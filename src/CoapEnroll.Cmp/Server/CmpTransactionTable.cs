namespace CoapEnroll.Cmp;

/// <summary>
/// This node's share of the open transactions (those it opened, as it last saw them) and the transaction IDs and nonces it saw (to
/// refuse replays), bounded over all requesters and per requester: a requester that fills its share forgets its own oldest IDs or
/// is refused new transactions, never anyone else's. Only authenticated messages reach it, so an unauthenticated peer costs nothing
/// here. The store, not this table, says whether a transaction is open: another node may have continued or closed one of these.
/// </summary>
internal sealed class CmpTransactionTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CmpTransaction> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _openPerRequester = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Remembered> _seen = new(StringComparer.Ordinal);
    private readonly LinkedList<Remembered> _seenOrder = new();
    private readonly Dictionary<string, LinkedList<Remembered>> _seenPerRequester = new(StringComparer.Ordinal);
    private readonly int _maxOpen;
    private readonly int _maxOpenPerRequester;
    private readonly int _maxSeen;
    private readonly int _maxSeenPerRequester;

    public CmpTransactionTable(int maxOpen, int maxOpenPerRequester, int maxSeen, int maxSeenPerRequester)
    {
        _maxOpen = maxOpen;
        _maxOpenPerRequester = maxOpenPerRequester;
        _maxSeen = maxSeen;
        _maxSeenPerRequester = maxSeenPerRequester;
    }

    public int OpenCount
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    public int RememberedCount
    {
        get
        {
            lock (_lock)
            {
                return _seen.Count;
            }
        }
    }

    /// <summary>Remembers <paramref name="key"/> for <paramref name="requester"/>; false when it was seen before (a replay).</summary>
    public bool TryRemember(string key, string requester)
    {
        lock (_lock)
        {
            if (_seen.ContainsKey(key))
            {
                return false;
            }

            if (!_seenPerRequester.TryGetValue(requester, out LinkedList<Remembered>? own))
            {
                own = new LinkedList<Remembered>();
                _seenPerRequester.Add(requester, own);
            }

            if (own.Count >= _maxSeenPerRequester)
            {
                Forget(own.First!.Value);
            }
            else if (_seenOrder.Count >= _maxSeen)
            {
                Forget(_seenOrder.First!.Value);
            }

            var entry = new Remembered(key, requester);
            entry.GlobalNode = _seenOrder.AddLast(entry);
            entry.RequesterNode = own.AddLast(entry);
            _seen.Add(key, entry);
            return true;
        }
    }

    /// <summary>Whether <paramref name="key"/> was seen (and not forgotten yet).</summary>
    public bool WasSeen(string key)
    {
        lock (_lock)
        {
            return _seen.ContainsKey(key);
        }
    }

    public CmpTransactionAddResult TryOpen(CmpTransaction transaction)
    {
        lock (_lock)
        {
            if (_open.ContainsKey(transaction.Id))
            {
                return CmpTransactionAddResult.InUse;
            }

            int own = _openPerRequester.GetValueOrDefault(transaction.Requester);
            if (own >= _maxOpenPerRequester)
            {
                return CmpTransactionAddResult.TooManyForRequester;
            }

            if (_open.Count >= _maxOpen)
            {
                return CmpTransactionAddResult.TooMany;
            }

            _open.Add(transaction.Id, transaction);
            _openPerRequester[transaction.Requester] = own + 1;
            return CmpTransactionAddResult.Added;
        }
    }

    public CmpTransaction? Find(string id)
    {
        lock (_lock)
        {
            return _open.GetValueOrDefault(id);
        }
    }

    /// <summary>Closes the transaction with this id if it is open here: false when it is not (closed before, or opened on another node).</summary>
    public bool TryClose(string id)
    {
        lock (_lock)
        {
            if (!_open.Remove(id, out CmpTransaction? current))
            {
                return false;
            }

            int own = _openPerRequester[current.Requester] - 1;
            if (own == 0)
            {
                _openPerRequester.Remove(current.Requester);
            }
            else
            {
                _openPerRequester[current.Requester] = own;
            }

            return true;
        }
    }

    /// <summary>Replaces this node's copy of <paramref name="transaction"/> with it, if this node holds one (it opened it).</summary>
    public void Refresh(CmpTransaction transaction)
    {
        lock (_lock)
        {
            if (_open.TryGetValue(transaction.Id, out CmpTransaction? current) && string.Equals(current.Requester, transaction.Requester, StringComparison.Ordinal))
            {
                _open[transaction.Id] = transaction;
            }
        }
    }

    /// <summary>The ids of the open transactions of <paramref name="requester"/> held here.</summary>
    public List<string> IdsOf(string requester)
    {
        lock (_lock)
        {
            return [.. _open.Values.Where(t => string.Equals(t.Requester, requester, StringComparison.Ordinal)).Select(t => t.Id)];
        }
    }

    /// <summary>
    /// Closes the open transactions of <paramref name="keep"/>'s requester other than <paramref name="keep"/> that await confirmation of
    /// certificate <paramref name="serial"/>; returns how many. Reads every open transaction: for the rare repeat of an issuance only.
    /// </summary>
    public int CloseOthersAwaitingConfirmation(string serial, CmpTransaction keep)
    {
        List<string> others;
        lock (_lock)
        {
            others = [.. _open.Values.Where(t => !string.Equals(t.Id, keep.Id, StringComparison.Ordinal) && t.State == CmpTransactionState.AwaitingConfirmation
                && string.Equals(t.CertificateSerial, serial, StringComparison.Ordinal) && string.Equals(t.Requester, keep.Requester, StringComparison.Ordinal))
                .Select(t => t.Id)];
        }

        return others.Count(TryClose);
    }

    /// <summary>The transactions past their deadline as this node last saw them, closed here (the store's sweep decides what they leave behind).</summary>
    public List<CmpTransaction> TakeExpired(DateTimeOffset now)
    {
        var expired = new List<CmpTransaction>();
        lock (_lock)
        {
            foreach (CmpTransaction transaction in _open.Values)
            {
                if (transaction.Deadline <= now)
                {
                    expired.Add(transaction);
                }
            }
        }

        expired.RemoveAll(t => !TryClose(t.Id));
        return expired;
    }

    private void Forget(Remembered entry)
    {
        _seen.Remove(entry.Key);
        _seenOrder.Remove(entry.GlobalNode!);
        LinkedList<Remembered> own = _seenPerRequester[entry.Requester];
        own.Remove(entry.RequesterNode!);
        if (own.Count == 0)
        {
            _seenPerRequester.Remove(entry.Requester);
        }
    }

    private sealed class Remembered(string key, string requester)
    {
        public string Key { get; } = key;

        public string Requester { get; } = requester;

        public LinkedListNode<Remembered>? GlobalNode { get; set; }

        public LinkedListNode<Remembered>? RequesterNode { get; set; }
    }
}
