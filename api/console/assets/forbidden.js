// The "not for agents" page has nothing of its own: common.js runs the
// header (presence, logout).
'use strict';
