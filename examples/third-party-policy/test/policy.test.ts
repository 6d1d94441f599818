import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { assertFaultPolicy } from '@mteperm/plugin-api';
import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import pageCacheTags from '../src/index';

test('is a valid fault policy', () => {
  assertFaultPolicy(pageCacheTags, 'page-cache-tags');
});

test('page-cache STG with pages left: allocate tags and retry (DOMAIN A.2.7)', () => {
  assert.deepEqual(pageCacheTags.decide(tagAccessFault({ backing: 'file-shared' }), policyContextOf({ tagPoolRemaining: 4 })), { kind: 'allocate-tags-and-retry' });
});

test('an empty pool or another backing: pass to the next policy', () => {
  assert.deepEqual(pageCacheTags.decide(tagAccessFault({ backing: 'file-shared' }), policyContextOf({ tagPoolRemaining: 0 })), { kind: 'pass' });
  assert.deepEqual(pageCacheTags.decide(tagAccessFault({ backing: 'vfio-bar-wb' }), policyContextOf()), { kind: 'pass' });
});
